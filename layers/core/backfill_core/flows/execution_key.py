"""What an execution search orders and narrows by before it reads an execution: the execution's entry in the
ByFlowStart index (storage/executions_search.py)."""

from dataclasses import dataclass
from datetime import datetime

from backfill_core.schedules.kestra_time import from_storage_key


@dataclass(frozen=True)
class ExecutionKey:
    """Which execution, of which flow, started when; `sort_key` is the index's, which it is read from."""

    namespace: str
    flow_id: str
    start_date: datetime
    id: str
    sort_key: str

    @classmethod
    def of(cls, sort_key: str) -> "ExecutionKey":
        """From the index's sort key, namespace#flowId#startDate#id (no part holds a `#`)."""
        namespace, flow_id, started, execution_id = sort_key.split("#", 3)
        return cls(namespace, flow_id, from_storage_key(started), execution_id, sort_key)
