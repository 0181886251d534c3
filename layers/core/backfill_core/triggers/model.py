"""A trigger's identity and what the API and the scheduler change about it beside its definition in the flow."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TriggerKey:
    """Which trigger: built from the record that names it (`trigger_key` on a backfill, a slot message, a
    request, a stored flow), never assembled field by field by its users."""

    tenant: str
    namespace: str
    flow_id: str
    trigger_id: str

    @property
    def pk(self) -> str:
        return f"{self.tenant}#{self.namespace}#{self.flow_id}#{self.trigger_id}"


@dataclass(frozen=True)
class TriggerState:
    """What the API and the scheduler change about a trigger, beside its definition in the flow."""

    date: datetime | None = None  # the last slot the live schedule evaluated
    schedule: str | None = None  # the cron, timezone and seconds flag `date` was evaluated with
    disabled: bool = False  # disabled through the API or by stopAfter
    backfills: int = 0  # bumped by each backfill that starts (or starts again) running
    due: str | None = None  # its key in the live schedule's due index (storage/due_triggers); None: not in it
