"""A backfill slot's life in its backfill's progress, as the executor moves it: claimed, finished (the lane then
takes the next slot), or given back. Each is one conditional update naming only the slot's lane; one that fails
because a person changed the backfill meanwhile decides again from what it found, without a read."""

from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from backfill_core import metrics
from backfill_core.backfills import events
from backfill_core.backfills.model import BackfillSpec, BackfillStatus, SlotOutcome, SlotRecord, SlotState
from backfill_core.backfills.progress import (
    COUNTERS,
    Claim,
    LaneSlot,
    Next,
    Progress,
    claim_of,
    failure_pause_reason,
    next_of,
    pace,
    settled_status,
    successor_lane,
    trips_failure_policy,
)
from backfill_core.backfills.progress_changes import settle
from backfill_core.backfills.state_machine import schedule_of
from backfill_core.errors import BackfillContended
from backfill_core.schedules.kestra_time import now
from backfill_core.schedules.run_window import open_now
from backfill_core.slots.message import SlotMessage, WorkMessage
from backfill_core.storage import backfill_items, backfill_progress, triggers_repository, work_queue

logger = Logger(child=True)

DECISIONS = 20  # a write lost this many times in a row to people's changes is given up (the message comes back)


@dataclass(frozen=True)
class ClaimedSlot:
    spec: BackfillSpec
    progress: Progress  # as the claim left it, or found it
    decision: Claim


def claim_slot(message: SlotMessage) -> ClaimedSlot | None:
    """None when the backfill is gone (its flow deleted)."""
    spec = _spec_of(message)
    if spec is None:
        return None
    slot = _slot(message, SlotState.DISPATCHED)
    if not open_now(spec.run_window):  # it starts no slot outside its run window: kept for the opening
        ok, progress = backfill_progress.park(spec.id, slot, now(), close_window=True)
        if ok and progress is not None:
            return ClaimedSlot(spec, progress, Claim.PARK)
    else:
        ok, progress = backfill_progress.claim(spec.id, slot, now())
    for _ in range(DECISIONS):
        if progress is None:
            return None
        if ok:
            return ClaimedSlot(spec, progress, Claim.RUN)
        decision = claim_of(progress, slot.lane, slot.position, slot.round)
        if decision == Claim.PARK:
            ok, found = backfill_progress.park(spec.id, slot, now())
        elif decision == Claim.CANCEL:
            counter = "failed" if slot.round else "cancelled"  # a retry that never ran stays failed
            ok, found = backfill_progress.end_slot(spec.id, slot, counter, Next.IDLE, now(), why="cancelled")
        else:
            return ClaimedSlot(spec, progress, decision)
        if ok:
            if decision == Claim.CANCEL and found is not None:
                store_end(spec, found)
            return ClaimedSlot(spec, found or progress, Claim.DROP if decision == Claim.CANCEL else decision)
        progress = found
    raise BackfillContended(f"backfill {message.backfill_id} is changing too fast to claim a slot; retry")


def skip_slot(message: SlotMessage, execution_id: str, reason: str, known: Progress | None = None) -> None:
    """Record why the reprocess policy skipped the slot (rewritten identically by a redelivery): a slot that runs
    nothing has no execution to tell it. Then count it. `known`: the progress as the claim left it."""
    if message.backfill_id is None:
        raise ValueError(f"the {message.kind} slot message for {message.date} names no backfill")
    triggers_repository.record_slot(
        SlotRecord(
            backfill_id=message.backfill_id,
            date=message.date,
            state=SlotOutcome.SKIPPED,
            execution_id=execution_id,
            reason=reason,
            round=message.round,
        )
    )
    finish_slot(message, SlotOutcome.SKIPPED, known)


def finish_slot(message: SlotMessage, outcome: SlotOutcome, known: Progress | None = None) -> None:
    """Count how the slot ended (its execution, saved before, tells it) in the progress, where its lane takes the
    next slot. `known`: the progress as the claim left it, so the count needs no read."""
    spec = _spec_of(message)
    progress = known or (backfill_progress.get(spec.id) if spec else None)
    if spec is None:
        return
    slot = _slot(message, SlotState.RUNNING)
    for _ in range(DECISIONS):
        if progress is None:
            return
        then = next_of(progress, slot.lane, slot.position, slot.round, outcome)
        if then == Next.DONE:
            return
        premises: dict = {}
        if then in (Next.CURSOR, Next.RETRY) and not open_now(spec.run_window):
            then, premises = Next.IDLE, {"why": "window"}  # the run window closed: the lane stops until it opens
        elif then == Next.RETRY:
            premises = {"retry_head": progress.retry[0], "round": progress.round}
        elif trips_failure_policy(progress, outcome, spec.max_failures):
            then = Next.IDLE
            new_failures = progress.failed + 1 - progress.failures_seen
            premises = {
                "pause": failure_pause_reason(new_failures, spec.max_failures or 0),
                "failed": progress.failed,
                "failures_seen": progress.failures_seen,
            }
        elif then == Next.IDLE:
            why = "cancelled" if not progress.stored_running else "held" if progress.held else "above"
            premises = {"why": why}
        successor = successor_lane(progress, slot.lane) if then in (Next.CURSOR, Next.RETRY) else None
        paced = pace(progress, 1, now()) if then in (Next.CURSOR, Next.RETRY) else None
        if paced is not None:
            premises["pace"] = paced
        if successor is not None or premises.get("why") == "above":
            # Both depend on the window and on how many lanes hold a slot: two lanes ending above it at once
            # must not both go idle, nor both hand their place down.
            premises |= {"concurrency": progress.concurrency, "lanes": len(progress.slots)}
        if successor is not None:
            premises |= {"successor": successor, "successor_seen": progress.slots.get(successor)}
        ok, found = backfill_progress.end_slot(spec.id, slot, COUNTERS[outcome], then, now(), **premises)
        if ok:
            metrics.slot_ended(spec.id, COUNTERS[outcome])
        if ok and found is not None:
            if "pause" in premises:  # this failure reached maxFailures: the write that paused it says so
                events.publish(events.Lifecycle.PAUSED, spec, found)
            taken = found.lane(slot.lane if successor is None else successor)
            if then in (Next.CURSOR, Next.RETRY) and taken is not None:
                dues = {taken.lane: paced.due_us[0]} if paced else None
                send_slots(spec, [(taken.lane, taken.position, taken.round)], (message.date, slot.position), dues)
            elif not found.in_flight:
                store_end(spec, found)
            return
        progress = found
    raise BackfillContended(f"backfill {message.backfill_id} is changing too fast to count a slot; retry")


def release_slot(message: SlotMessage) -> Progress | None:
    """Give back a claimed slot whose execution never started: parked while held, counted cancelled once
    cancelled (a retried one stays failed); as it is while the backfill runs on. Returns the progress after."""
    spec = _spec_of(message)
    progress = backfill_progress.get(spec.id) if spec else None
    slot = _slot(message, SlotState.RUNNING)
    for _ in range(DECISIONS):
        if spec is None or progress is None:
            return None
        if progress.lane(slot.lane) != slot:
            return progress
        if not progress.stored_running:
            counter = "failed" if slot.round else "cancelled"
            ok, found = backfill_progress.end_slot(spec.id, slot, counter, Next.IDLE, now(), why="cancelled")
        elif progress.held:
            ok, found = backfill_progress.park(spec.id, slot, now())
        else:
            return progress
        if ok:
            if found is not None:
                store_end(spec, found)
            return found
        progress = found
    raise BackfillContended(f"backfill {message.backfill_id} is changing too fast to give back a slot; retry")


def store_end(spec: BackfillSpec, progress: Progress) -> None:
    """A backfill whose last slot ended (or whose cancel left nothing running) is stored as ended, and its spec
    leaves the RunningBackfills index. A crash in between is mended by the watchdog."""
    ended = settled_status(progress)
    if ended == progress.status or ended in (BackfillStatus.RUNNING, BackfillStatus.CANCELLING):
        return
    for _ in range(DECISIONS):
        ok, found = backfill_progress.change(spec.id, settle(progress, ended), now())
        if ok and found is not None:
            events.publish(events.ENDS.get(ended), spec, found)
        if ok or found is None:
            break
        progress, ended = found, settled_status(found)
        if ended == found.status or ended in (BackfillStatus.RUNNING, BackfillStatus.CANCELLING):
            return
    backfill_items.set_running(spec, False)


def send_slots(
    spec: BackfillSpec,
    slots: list[tuple[int, int, int]],
    known: tuple[datetime, int] | None = None,
    dues: dict[int, int] | None = None,
) -> None:
    """Send (lane, position, round) slots after the write that dispatched them. A failed send is not an error for
    the caller: the progress holds them DISPATCHED, and the watchdog sends them again. `known`: a slot's date and
    position, from which nearby dates are counted rather than from the start. `dues`: lane -> when (epoch µs) its
    slot is dispatched under the rate limit; its message is not delivered, nor its slot started, before then."""
    if not slots:
        return
    schedule = schedule_of(spec)
    messages = []
    for lane, position, round_ in slots:
        date = spec.order.nth_near(schedule, spec.start, spec.end, position, known)
        if date is None:
            continue
        messages.append(
            SlotMessage(
                tenant=spec.tenant,
                namespace=spec.namespace,
                flow_id=spec.flow_id,
                trigger_id=spec.trigger_id,
                backfill_id=spec.id,
                date=date,
                round=round_,
                lane=lane,
                position=position,
                not_before=_instant_after(dues[lane]) if dues and lane in dues else None,
            )
        )
    try:
        work_queue.send(list[WorkMessage](messages))
    except (work_queue.SendFailed, BotoCoreError, ClientError):
        logger.exception("slot messages not sent; the watchdog will send them", extra={"backfill_id": spec.id})


def _instant_after(epoch_us: int) -> datetime:
    """The dispatch time as a message carries it (Kestra's dates hold milliseconds): rounded up, never early."""
    return datetime.fromtimestamp(-(-epoch_us // 1000) / 1000, UTC)


def _spec_of(message: SlotMessage) -> BackfillSpec | None:
    if message.backfill_id is None:
        raise ValueError(f"the {message.kind} slot message for {message.date} names no backfill")
    return backfill_items.spec(message.trigger_key.pk, message.backfill_id)


def running_slot(message: SlotMessage) -> LaneSlot:
    """The message's slot as its lane holds it once claimed."""
    return _slot(message, SlotState.RUNNING)


def _slot(message: SlotMessage, state: SlotState) -> LaneSlot:
    if message.lane is None or message.position is None:
        raise ValueError(f"the backfill slot message for {message.date} names no lane: sent by an older version")
    return LaneSlot(message.lane, message.position, state, message.round)
