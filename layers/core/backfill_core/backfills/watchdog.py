"""The watchdog: slots whose message was lost are sent again, holds mended after a crash, free places in a running
backfill's window filled, and a backfill that ended is stored as ended (its spec leaves the RunningBackfills
index)."""

import time

from aws_lambda_powertools import Logger

from backfill_core.backfills import progress_changes
from backfill_core.backfills.changes import change, kill_running
from backfill_core.backfills.holds import trigger_disabled, yielded_too_long
from backfill_core.backfills.model import Backfill, BackfillSpec, SlotState
from backfill_core.backfills.progress import Hold, LaneSlot, Progress, settled_status
from backfill_core.backfills.slots import send_slots, store_end
from backfill_core.schedules.kestra_time import now
from backfill_core.schedules.run_window import open_now
from backfill_core.settings import settings
from backfill_core.slots.message import SlotMessage, WorkMessage
from backfill_core.storage import backfill_items, backfill_watch, flows_repository, triggers_repository

logger = Logger(child=True)

LIVE_FIRST_MOST_SECONDS = 300  # a backfill holds this long at most for a live slot that does not start


def resend_stale_slots() -> int:
    """The watchdog: re-send slots whose message was lost, hold or release each running backfill as its trigger's
    disabled state says (in case a crash came between the two writes), and store the end of those that ended.
    Returns how many slots were re-sent."""
    sent = 0
    for running in triggers_repository.running_backfills(ended_too=True):
        try:
            sent += _watch(running)
        except Exception:  # one broken backfill must not stop the watchdog for the others
            logger.exception("watchdog could not check a backfill", extra={"backfill_id": running.id})
    return sent


def _watch(running: Backfill) -> int:
    key = running.trigger_key
    disabled = trigger_disabled(key)
    # Running after its flow was deleted: one whose trigger an update had removed (delete_flow cancels the
    # backfills of the triggers the flow still has), or one started before creates checked the flow.
    orphan = flows_repository.find(key.tenant, key.namespace, key.flow_id) is None

    cancel_orphan = progress_changes.cancelling()

    def decide(spec: BackfillSpec, progress: Progress):
        if orphan:
            return cancel_orphan(spec, progress)
        held = progress_changes.set_hold(progress, Hold.TRIGGER_DISABLED, disabled)
        if held:
            return held
        windowed = progress_changes.set_hold(progress, Hold.WINDOW_CLOSED, not open_now(spec.run_window))
        if windowed:
            return windowed
        if yielded_too_long(progress.yielding_since, now(), LIVE_FIRST_MOST_SECONDS):
            logger.warning("a hold for a live slot that never started was lifted", extra={"backfill_id": spec.id})
            return progress_changes.set_hold(progress, Hold.YIELDING, None)
        refilled = progress_changes.refill(progress)
        if refilled:
            logger.warning("watchdog filled free places in a backfill's window", extra={"backfill_id": spec.id})
        return refilled

    watched = change(key, running.id, decide)
    if watched is None:
        return 0
    kill_running(watched)  # a kill that found no execution yet
    found = backfill_items.get(key.pk, running.id)
    if found is None:
        return 0
    spec, progress = found
    if watched.settled:
        store_end(spec, progress)
        if settled_status(progress) == progress.status:  # stored as ended, but a crash kept it in the index
            backfill_items.set_running(spec, False)
        return 0
    return _resend_lost(spec, progress)


def _resend_lost(spec: BackfillSpec, progress: Progress) -> int:
    """Send again each slot whose lane has not moved for longer than any message can take: a message lost (a
    crash between the write and the send, or one moved to the dead-letter queue). A RUNNING slot is sent again
    even while held or cancelled, so its execution is resumed or its claim given back; a sent one of a cancelled
    backfill too, so that its claim counts it cancelled."""
    now = time.time()
    before = backfill_watch.seen(spec.id)
    seen: dict[int, tuple[int, float]] = {}
    stale = []
    for slot in _awaiting_message(progress):
        code, since = before.get(slot.lane, (None, now))
        if code != slot.code:
            since = now
        if now - since >= settings().slot_resend_seconds:
            stale.append((slot.lane, slot.position, slot.round))
            since = now
        seen[slot.lane] = (slot.code, since)
    if seen != before:
        backfill_watch.keep(spec.id, seen)
    send_slots(spec, stale)
    return len(stale)


def _awaiting_message(progress: Progress) -> list[LaneSlot]:
    """The slots in flight that a message must still reach: not PARKED (unpause sends those), nor DISPATCHED
    while held (their claim would park them: unpause sends them again). A backfill stepping aside for a live slot
    is let go by that slot's start, which re-sends only what it parked: a lost message of it is sent again."""
    held = progress.holds - {Hold.YIELDING}
    return [
        slot
        for slot in progress.in_flight
        if slot.state != SlotState.PARKED
        and not (slot.state == SlotState.DISPATCHED and held and progress.stored_running)
    ]


def resend_unqueued(queued: list[WorkMessage]) -> int:
    """After every executor died at once (the local stack restarted), a slot in flight whose message is not among
    `queued` lost it between the write that moved its lane and the send: it is sent now, not slot_resend_seconds
    later. Returns how many slots were sent."""
    waiting = {
        (m.backfill_id, m.lane, m.position, m.round) for m in queued if isinstance(m, SlotMessage) and m.backfill_id
    }
    sent = 0
    for running in triggers_repository.running_backfills():
        found = backfill_items.get(running.trigger_key.pk, running.id)
        if found is None:
            continue
        spec, progress = found
        lost = [
            (slot.lane, slot.position, slot.round)
            for slot in _awaiting_message(progress)
            if (spec.id, slot.lane, slot.position, slot.round) not in waiting
        ]
        send_slots(spec, lost)
        sent += len(lost)
    return sent
