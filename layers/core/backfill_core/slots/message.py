"""The work queue's messages: one slot to run, or one execution to run by its id."""

import json
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
    lane: int | None = None  # a backfill slot's lane, which holds it in the backfill's progress
    position: int | None = None  # a backfill slot's index in the backfill's order
    wait_token: str | None = None  # the wait it continues, for a slot QUEUED by its flow's concurrency limit
    not_before: datetime | None = None  # when the rate limit dispatches it: it starts no earlier

    @property
    def trigger_key(self) -> TriggerKey:
        return TriggerKey(self.tenant, self.namespace, self.flow_id, self.trigger_id)


class ExecutionMessage(KestraModel):
    """One work-queue message: run the execution of this id, already created (a Subflow's child that its parent
    does not wait for; a run started by hand). The execution record is the truth: a duplicate, or one that
    arrives after the execution ended, runs nothing."""

    kind: Literal["execution"] = "execution"
    tenant: str
    execution_id: str
    wait_token: str | None = None  # the wait it continues, for an execution QUEUED by its flow's concurrency limit


WorkMessage = SlotMessage | ExecutionMessage


def parse_work_message(body: str) -> WorkMessage:
    """A message of either shape, told apart by its kind."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("kind") == "execution":
        return ExecutionMessage.model_validate(data)
    return SlotMessage.model_validate(data)
