"""How a backfill reads: its schedule, the next slot to start, its status and each slot's state, from the
backfill as people see it (backfills/view.py). Its moves are backfills/progress.py's and progress_changes.py's."""

from datetime import datetime

from backfill_core.backfills.model import (
    Backfill,
    BackfillSpec,
    BackfillStatus,
    SlotState,
)
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import from_storage_key, storage_key


def schedule_of(backfill: BackfillSpec) -> CronSchedule:
    return CronSchedule(backfill.cron, backfill.timezone, backfill.with_seconds, backfill.conditions)


def current_date(backfill: Backfill) -> datetime | None:
    """Kestra's backfill.currentDate: the next slot to start, in the backfill's order."""
    waiting = [from_storage_key(k) for k, v in backfill.inflight.items() if v.state != SlotState.RUNNING]
    waiting += [from_storage_key(k) for k in backfill.retry]
    if backfill.cursor is not None:
        waiting.append(backfill.cursor)
    if not waiting:
        return None
    return backfill.order.first_of(waiting)


def display_status(backfill: Backfill) -> str:
    """The status a person reads: a running backfill that is held says PAUSED (WAITING_FOR_WINDOW when only its
    run window holds it), and one none of whose slots an executor has picked up yet says QUEUED."""
    if backfill.status != BackfillStatus.RUNNING:
        return backfill.status.value
    if backfill.window_closed and not (backfill.paused or backfill.trigger_disabled):
        return "WAITING_FOR_WINDOW"
    if backfill.paused or backfill.trigger_disabled:
        return "PAUSED"  # a live slot going first holds it a moment: it still reads as running
    if (
        not backfill.ended
        and backfill.round == 0
        and all(v.state == SlotState.DISPATCHED for v in backfill.inflight.values())
    ):
        return "QUEUED"
    return "RUNNING"


def slot_view(backfill: Backfill, slot: datetime, ended: str | None) -> tuple[str, int]:
    """A slot's state as a person reads it, and the round of its latest execution. What is in flight
    wins over how an earlier round `ended` (backfills/slot_runs.py); a slot the cursor has not reached is PENDING
    (CANCELLED once the backfill is cancelled); a passed slot that never ran was cancelled before it did."""
    key = storage_key(slot)
    if key in backfill.inflight:
        entry = backfill.inflight[key]
        return entry.state.value, entry.round
    if key in backfill.retry:
        return "PENDING", backfill.round
    if ended is not None:
        return ended, 0
    cursor = backfill.cursor
    ahead = cursor is not None and backfill.order.reached(slot, cursor)
    if ahead and not backfill.finished:
        return "PENDING", 0
    return "CANCELLED", 0
