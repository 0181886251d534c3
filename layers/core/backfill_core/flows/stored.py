"""A flow as registered: its YAML, revision and, read leniently, the parsed flow or why it no longer validates."""

from dataclasses import dataclass
from datetime import datetime

from backfill_core.errors import NotFound
from backfill_core.flows.model import Flow, TriggerSpec
from backfill_core.flows.yaml_text import load_yaml
from backfill_core.schedules.kestra_time import parse_instant
from backfill_core.triggers.model import TriggerKey, TriggerState


@dataclass(frozen=True)
class StoredFlow:
    namespace: str
    id: str
    flow: Flow | None  # None when the stored YAML no longer validates; `problem` says why
    source: str
    revision: int
    tenant: str
    updated: str
    created: str
    backfill_starts: int = 0
    problem: str | None = None

    def trigger_key(self, trigger_id: str) -> TriggerKey:
        return TriggerKey(self.tenant, self.namespace, self.id, trigger_id)

    @property
    def trigger_ids(self) -> list[str]:
        """The triggers' ids, read from the YAML itself when the flow no longer validates (to clean up
        after them)."""
        if self.flow is not None:
            return [trigger.id for trigger in self.flow.triggers]
        try:
            triggers = (load_yaml(self.source) or {}).get("triggers") or []
        except (AttributeError, RecursionError, ValueError):  # ValueError: YamlProblem too
            return []
        return [t["id"] for t in triggers if isinstance(t, dict) and isinstance(t.get("id"), str)]

    def evaluated(self, state: TriggerState) -> datetime:
        """The last slot the live schedule evaluated; never evaluated yet, the flow's registration."""
        return state.date or parse_instant(self.updated)

    def next_execution_date(self, trigger: TriggerSpec, state: TriggerState) -> datetime | None:
        """Kestra's nextExecutionDate: the first slot after the last evaluated; None for a trigger that is no
        schedule, or whose conditions keep no further slot."""
        return trigger.schedule().next_after(self.evaluated(state)) if trigger.is_schedule else None

    def invalid_message(self) -> str:
        return (
            f"Flow {self.namespace}.{self.id} revision {self.revision} no longer validates: {self.problem}; "
            "store a corrected revision"
        )

    def at_revision(self, revision: int | None) -> "StoredFlow":
        """The flow at a revision Kestra's routes name: only the latest is kept, so any other is not found."""
        if revision is not None and revision != self.revision:
            raise NotFound(
                f"revision: flow {self.namespace}.{self.id} has no revision {revision}; "
                f"only its latest ({self.revision}) is kept"
            )
        return self
