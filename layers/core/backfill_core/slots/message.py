"""The work queue's message: one slot to run."""

from datetime import datetime
from typing import Literal

from backfill_core.kestra_model import KestraModel
from backfill_core.triggers.model import TriggerKey


class SlotMessage(KestraModel):
    """One work-queue message: a request to run one slot, of a backfill or of the live schedule.
    The execution record is the truth."""

    kind: Literal["backfill", "schedule"] = "backfill"
    tenant: str
    namespace: str
    flow_id: str
    trigger_id: str
    backfill_id: str | None = None
    date: datetime
    round: int = 0  # which run of a backfill slot: retry-failed starts a new round
    wait_token: str | None = None  # the wait it continues, for a slot QUEUED by its flow's concurrency limit

    @property
    def trigger_key(self) -> TriggerKey:
        return TriggerKey(self.tenant, self.namespace, self.flow_id, self.trigger_id)
