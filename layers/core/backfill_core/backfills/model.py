"""A backfill and its slots, as the state machine reads and writes them (and DynamoDB keeps them)."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from backfill_core.flows.execution import ENDED_STATES, SUCCEEDED_STATES, ExecutionState
from backfill_core.flows.labels import Label
from backfill_core.kestra_model import KestraModel
from backfill_core.schedules.order import SlotOrder
from backfill_core.schedules.run_window import RunWindow
from backfill_core.triggers.model import TriggerKey


class SlotState(StrEnum):
    """A slot in flight, kept on the backfill record."""

    DISPATCHED = "DISPATCHED"  # its message is on the queue
    RUNNING = "RUNNING"  # an executor claimed it
    PARKED = "PARKED"  # its message arrived while the backfill was paused


class SlotOutcome(StrEnum):
    """How a slot ended: its latest execution's state says it, or, for a skipped slot, its slot record."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # the reprocess policy found it already done
    CANCELLED = "CANCELLED"  # its execution was killed

    @classmethod
    def of_execution(cls, state: str) -> "SlotOutcome | None":
        """A WARNING execution succeeded, as Kestra and the reprocess policy count it; a killed one, or one its
        flow's concurrency limit cancelled, was cancelled. None while the execution has not ended."""
        if state in SUCCEEDED_STATES:
            return cls.SUCCEEDED
        if state in (ExecutionState.KILLED, ExecutionState.CANCELLED):
            return cls.CANCELLED
        return cls.FAILED if state in ENDED_STATES else None


class SlotShown(StrEnum):
    """A slot's state as its backfill's slots page shows it: waiting, in flight or how it ended."""

    PENDING = "PENDING"  # the cursor has not reached it, or it waits for retry-failed's round
    DISPATCHED = SlotState.DISPATCHED.value
    RUNNING = SlotState.RUNNING.value
    PARKED = SlotState.PARKED.value
    SUCCEEDED = SlotOutcome.SUCCEEDED.value
    FAILED = SlotOutcome.FAILED.value
    SKIPPED = SlotOutcome.SKIPPED.value
    CANCELLED = SlotOutcome.CANCELLED.value


class BackfillStatus(StrEnum):
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"  # cancelled; running slots still finish, sent ones are cancelled by their claim
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # every slot ended, and some failed
    CANCELLED = "CANCELLED"


class BackfillShown(StrEnum):
    """A backfill's status as people read it (state_machine.display_status): a running one is QUEUED until an
    executor picks up a slot, PAUSED while held."""

    QUEUED = "QUEUED"
    RUNNING = BackfillStatus.RUNNING.value
    PAUSED = "PAUSED"
    WAITING_FOR_WINDOW = "WAITING_FOR_WINDOW"  # held by its run window only, until it opens
    CANCELLING = BackfillStatus.CANCELLING.value
    SUCCEEDED = BackfillStatus.SUCCEEDED.value
    FAILED = BackfillStatus.FAILED.value
    CANCELLED = BackfillStatus.CANCELLED.value


SETTLED_STATUSES = (BackfillStatus.SUCCEEDED, BackfillStatus.FAILED, BackfillStatus.CANCELLED)
Reprocess = Literal["all", "failed", "missing"]


class InflightSlot(KestraModel):
    state: SlotState
    since: datetime
    round: int = 0  # 0 for the first run of the slot, n for the n-th retry-failed


class SlotRecord(KestraModel):
    """A slot that ran nothing: the reprocess policy skipped it, for the execution that had already run it. (A
    slot that ran is told by its executions.)"""

    backfill_id: str
    date: datetime
    state: SlotOutcome
    execution_id: str | None = None
    reason: str | None = None
    round: int = 0


class BackfillSpec(KestraModel):
    """What a backfill was asked for and planned as when it was created: it never changes."""

    id: str
    tenant: str
    namespace: str
    flow_id: str
    trigger_id: str
    trigger_type: str
    cron: str
    timezone: str
    with_seconds: bool = False
    conditions: list[dict[str, Any]] | None = None  # the trigger's, when the backfill was created
    start: datetime
    end: datetime
    inputs: dict[str, Any] = {}
    labels: list[Label] = []
    order: SlotOrder = SlotOrder.OLDEST_FIRST
    reprocess: Reprocess = "all"
    max_failures: int | None = None
    run_window: RunWindow | None = None  # with its zone filled in (the trigger's when the request named none)
    live_first: bool = True  # held while a slot of its trigger's live schedule starts
    # The dry run's forecast for its `total` slots, made as it was created: to read its progress against.
    forecast_seconds: float | None = None
    forecast_basis: str | None = None
    forecast_cost_usd: float | None = None
    total: int = 0  # every slot of the range, counted at creation
    previous_next_execution_date: datetime | None = None
    created: datetime
    created_by: str | None = None

    @property
    def trigger_key(self) -> TriggerKey:
        return TriggerKey(self.tenant, self.namespace, self.flow_id, self.trigger_id)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start <= end and start <= self.end


class Backfill(BackfillSpec):
    """One backfill of one trigger: its plan, its cursor and the slots in flight."""

    concurrency: int = 1
    max_slots_per_minute: int | None = None  # the rate limit, changeable while it runs
    cursor: datetime | None  # the next slot to dispatch, in `order`; None when every slot is dispatched
    retry: list[str] = []  # storage keys of failed slots to dispatch again, before the cursor
    round: int = 0  # how many times retry-failed was asked for
    paused: bool = False
    pause_reason: str | None = None  # why it paused itself (its failure policy); None when paused by a person
    failures_seen: int = 0  # failures the user has seen: maxFailures counts those after them
    kill: bool = False  # cancelled with kill: running executions are killed rather than left to finish
    trigger_disabled: bool = False  # the trigger was disabled: hold like a pause until it is enabled
    window_closed: bool = False  # outside its run window: hold until it opens
    yielding_since: str | None = None  # held since then while a live slot of its trigger starts
    status: BackfillStatus = BackfillStatus.RUNNING
    inflight: dict[str, InflightSlot] = {}  # storage_key(slot) -> state
    dispatched: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    updated: datetime
    version: int = 0

    @property
    def finished(self) -> bool:
        """No longer dispatching: done, cancelled, or cancelling while its running slots end."""
        return self.status != BackfillStatus.RUNNING

    @property
    def settled(self) -> bool:
        """Nothing of it runs any more (a CANCELLING backfill still has running slots to watch)."""
        return self.status in SETTLED_STATUSES

    @property
    def ended(self) -> int:
        """Slots that ran to an end, were skipped or were cancelled."""
        return self.succeeded + self.failed + self.skipped + self.cancelled

    @property
    def held(self) -> bool:
        """Paused by its user, by its trigger being disabled or outside its run window: nothing new is dispatched or
        started."""
        return self.paused or self.trigger_disabled or self.window_closed or self.yielding_since is not None


REQUEST_FIELDS = frozenset(BackfillSpec.model_fields)
