"""The backfill state machine, as pure transitions: Backfill in, Backfill and the slots to send out.

The service applies each transition with a conditional write on the record's version, so two writers
never both move the cursor; these functions never touch AWS.
"""

from datetime import datetime
from enum import StrEnum

from backfill_core.backfills.model import (
    Backfill,
    BackfillSpec,
    BackfillStatus,
    InflightSlot,
    SlotOutcome,
    SlotRecord,
    SlotState,
)
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import from_storage_key, storage_key


class Claim(StrEnum):
    RUN = "RUN"  # run (or resume) the slot's execution
    RESUME = "RESUME"  # paused or cancelled since the slot was claimed: resume its execution if it exists
    PARK = "PARK"  # the backfill is paused: keep the slot for unpause, run nothing
    DROP = "DROP"  # nothing to do: the slot finished, was cancelled, or this message is a stale copy


def schedule_of(backfill: BackfillSpec) -> CronSchedule:
    return CronSchedule(backfill.cron, backfill.timezone, backfill.with_seconds, backfill.conditions)


def fill_window(backfill: Backfill, now: datetime) -> tuple[Backfill, list[datetime]]:
    """Dispatch slots until `concurrency` slots are in flight (none while paused): failed slots to retry
    first, then from the cursor. Finish when every slot is dispatched and none is in flight."""
    b = backfill.model_copy(deep=True)
    if b.status != BackfillStatus.RUNNING:
        return b, []
    free = 0 if b.held else b.concurrency - len(b.inflight)
    sent: list[datetime] = []
    while free > 0 and b.retry:
        key = b.retry.pop(0)
        b.inflight[key] = InflightSlot(state=SlotState.DISPATCHED, since=now, round=b.round)
        sent.append(from_storage_key(key))
        free -= 1
    if free > 0 and b.cursor is not None:
        schedule = schedule_of(b)
        upcoming = b.order.slots_from(schedule, b.start, b.end, b.cursor, free + 1)
        fresh = upcoming[:free]
        b.cursor = upcoming[free] if len(upcoming) > free else None
        for slot in fresh:
            b.inflight[storage_key(slot)] = InflightSlot(state=SlotState.DISPATCHED, since=now)
        b.dispatched += len(fresh)
        sent += fresh
    if b.cursor is None and not b.inflight and not b.retry:
        b.status = BackfillStatus.FAILED if b.failed else BackfillStatus.SUCCEEDED
    if sent or b.status != backfill.status:
        b.updated = now
    return b, sent


def claim(backfill: Backfill, slot: datetime, now: datetime, round_: int = 0) -> tuple[Backfill, Claim]:
    """What an executor holding this slot's message may do; a DISPATCHED slot becomes RUNNING or PARKED.
    A message of an earlier round (a late copy, after retry-failed) is stale."""
    b = backfill.model_copy(deep=True)
    entry = b.inflight.get(storage_key(slot))
    if entry is None or entry.state == SlotState.PARKED or entry.round != round_:
        return b, Claim.DROP
    if entry.state == SlotState.RUNNING:
        # A redelivery after a crash, or a duplicate: the execution's lease decides. Once the backfill is
        # paused or cancelled, an execution that never got created must not start now.
        return b, Claim.RESUME if b.held or b.finished else Claim.RUN
    if b.held:
        entry.state, entry.since, b.updated = SlotState.PARKED, now, now
        return b, Claim.PARK
    entry.state, entry.since, b.updated = SlotState.RUNNING, now, now
    return b, Claim.RUN


COUNTERS = {
    SlotOutcome.SUCCEEDED: "succeeded",
    SlotOutcome.FAILED: "failed",
    SlotOutcome.SKIPPED: "skipped",
    SlotOutcome.CANCELLED: "cancelled",
}


def finish(
    backfill: Backfill, slot: datetime, outcome: SlotOutcome, now: datetime, round_: int = 0
) -> tuple[Backfill, list[datetime]]:
    """Count a finished slot once (in its round), apply the failure policy, then refill the window."""
    b = backfill.model_copy(deep=True)
    entry = b.inflight.get(storage_key(slot))
    if entry is None or entry.round != round_:
        return b, []
    del b.inflight[storage_key(slot)]
    setattr(b, COUNTERS[outcome], getattr(b, COUNTERS[outcome]) + 1)
    b.updated = now
    if b.finished:
        return _settle_cancel(b), []
    new_failures = b.failed - b.failures_seen
    if outcome == SlotOutcome.FAILED and b.max_failures and new_failures >= b.max_failures and not b.paused:
        b.paused = True
        b.pause_reason = (
            f"maxFailures: {new_failures} slots failed, the limit is {b.max_failures}; "
            "unpause to carry on or retry-failed to run them again"
        )
    return fill_window(b, now)


def _settle_cancel(b: Backfill) -> Backfill:
    """A cancelling backfill whose last running slot ended is cancelled."""
    if b.status == BackfillStatus.CANCELLING and not b.inflight:
        b.status = BackfillStatus.CANCELLED
    return b


def release(backfill: Backfill, slot: datetime, now: datetime, round_: int = 0) -> Backfill:
    """A claimed slot that never started, given back: parked while paused, cancelled once cancelled (a
    retried one stays failed, as its record says)."""
    b = backfill.model_copy(deep=True)
    key = storage_key(slot)
    entry = b.inflight.get(key)
    if entry is None or entry.state != SlotState.RUNNING or entry.round != round_:
        return b
    if b.finished:
        del b.inflight[key]
        if entry.round:
            b.failed += 1
        else:
            b.cancelled += 1
        b = _settle_cancel(b)
    elif b.held:
        entry.state, entry.since = SlotState.PARKED, now
    else:
        return b
    b.updated = now
    return b


def set_concurrency(backfill: Backfill, concurrency: int, now: datetime) -> tuple[Backfill, list[datetime]]:
    """A new window size, taking effect at once: a larger one dispatches more now, a smaller one lets the
    slots in flight finish and dispatches less after."""
    b = backfill.model_copy(deep=True)
    if b.finished or b.concurrency == concurrency:
        return b, []
    b.concurrency, b.updated = concurrency, now
    return fill_window(b, now)


def change(
    backfill: Backfill, now: datetime, concurrency: int | None = None, paused: bool | None = None
) -> tuple[Backfill, list[datetime]]:
    """One backfill's window and pause, changed together. Pause comes first and unpause last, so a paused
    backfill given a larger window sends nothing, and one unpaused sends its new window."""
    b, to_send = backfill, list[datetime]()
    if paused is True and not b.paused:
        b = pause(b, now)
    if concurrency is not None:
        b, to_send = set_concurrency(b, concurrency, now)
    if paused is False and b.paused:
        b, resumed = unpause(b, now)
        to_send += resumed
    return b, to_send


def pause(backfill: Backfill, now: datetime) -> Backfill:
    b = backfill.model_copy(deep=True)
    if b.finished:
        return b
    b.paused, b.pause_reason, b.updated = True, None, now  # a person's pause: retry-failed leaves it paused
    return b


def unpause(backfill: Backfill, now: datetime) -> tuple[Backfill, list[datetime]]:
    """Re-send the parked slots first, then continue from the cursor. The failures so far count as seen:
    the failure policy pauses again only after `maxFailures` more."""
    b = backfill.model_copy(deep=True)
    if b.finished:
        return b, []
    b.paused, b.pause_reason, b.failures_seen, b.updated = False, None, b.failed, now
    return _carry_on(b, now)


def retry_failed(backfill: Backfill, failed_keys: list[str], now: datetime) -> tuple[Backfill, list[datetime]]:
    """Run these failed slots again, as a new round with new executions. A backfill that ended runs
    again; one its failure policy paused carries on."""
    b = backfill.model_copy(deep=True)
    # Never more than the backfill counts failed: a stale list cannot re-run a slot that succeeded since.
    fresh = [k for k in failed_keys if k not in b.inflight and k not in b.retry][: b.failed]
    if not fresh or b.status in (BackfillStatus.CANCELLING, BackfillStatus.CANCELLED):
        return b, []
    b.round += 1
    b.retry += fresh
    b.failed -= len(fresh)
    b.failures_seen = min(b.failures_seen, b.failed)
    b.status, b.updated = BackfillStatus.RUNNING, now
    if b.pause_reason:
        b.paused, b.pause_reason = False, None
        return _carry_on(b, now)
    return fill_window(b, now)


def set_trigger_disabled(backfill: Backfill, disabled: bool, now: datetime) -> tuple[Backfill, list[datetime]]:
    """Disabling the trigger holds the backfill as a pause does; enabling it carries on like unpause."""
    b = backfill.model_copy(deep=True)
    if b.finished or b.trigger_disabled == disabled:
        return b, []
    b.trigger_disabled, b.updated = disabled, now
    return (b, []) if disabled else _carry_on(b, now)


def _carry_on(b: Backfill, now: datetime) -> tuple[Backfill, list[datetime]]:
    if b.held:
        return b, []
    parked = sorted(k for k, v in b.inflight.items() if v.state == SlotState.PARKED)
    for key in parked:
        b.inflight[key].state, b.inflight[key].since = SlotState.DISPATCHED, now
    b, more = fill_window(b, now)
    return b, [from_storage_key(k) for k in parked] + more


def cancel(backfill: Backfill, now: datetime, kill: bool = False) -> Backfill:
    """Stop dispatch and cancel what waits: CANCELLED at once, or CANCELLING until the slots that are
    running end (they are counted then); with `kill`, their executions are killed. Slots never
    dispatched are counted cancelled too, so the counts add up to the total."""
    b = backfill.model_copy(deep=True)
    if b.finished:
        return b
    waiting_retries = [v for v in b.inflight.values() if v.state != SlotState.RUNNING and v.round]
    b.inflight = {k: v for k, v in b.inflight.items() if v.state == SlotState.RUNNING}
    # Failed slots queued or dispatched for a retry stay failed, as their records say.
    b.failed += len(b.retry) + len(waiting_retries)
    b.cancelled += max(b.total - b.ended - len(b.inflight), 0)
    b.status, b.cursor, b.retry, b.kill, b.updated = BackfillStatus.CANCELLING, None, [], kill, now
    return _settle_cancel(b)


def stale_slots(backfill: Backfill, now: datetime, older_than_seconds: float) -> tuple[Backfill, list[datetime]]:
    """Slots in flight for longer than any message can take, so their message is lost (a crash between
    the write and the send, or a message moved to the dead-letter queue): send them again. A RUNNING slot
    is re-sent even while paused or cancelled, so its execution is resumed or its claim given back."""
    b = backfill.model_copy(deep=True)
    stale = sorted(
        k
        for k, v in b.inflight.items()
        if (now - v.since).total_seconds() >= older_than_seconds
        and (v.state == SlotState.RUNNING or (v.state == SlotState.DISPATCHED and not b.held and not b.finished))
    )
    for key in stale:
        b.inflight[key].since = now
    return b, [from_storage_key(k) for k in stale]


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
    """The status a person reads: a running backfill that is held says PAUSED, and one none of whose
    slots an executor has picked up yet says QUEUED."""
    if backfill.status != BackfillStatus.RUNNING:
        return backfill.status.value
    if backfill.held:
        return "PAUSED"
    if (
        not backfill.ended
        and backfill.round == 0
        and all(v.state == SlotState.DISPATCHED for v in backfill.inflight.values())
    ):
        return "QUEUED"
    return "RUNNING"


def slot_view(backfill: Backfill, slot: datetime, record: SlotRecord | None) -> tuple[str, int]:
    """A slot's state as a person reads it, and the round of its latest execution. What is in flight
    wins over an earlier round's record; a slot the cursor has not reached is PENDING (CANCELLED once
    the backfill is cancelled); a passed slot with no record was cancelled before it ran."""
    key = storage_key(slot)
    if key in backfill.inflight:
        entry = backfill.inflight[key]
        return entry.state.value, entry.round
    if key in backfill.retry:
        return "PENDING", backfill.round
    if record is not None:
        return record.state.value, record.round
    cursor = backfill.cursor
    ahead = cursor is not None and backfill.order.reached(slot, cursor)
    if ahead and not backfill.finished:
        return "PENDING", 0
    return "CANCELLED", 0
