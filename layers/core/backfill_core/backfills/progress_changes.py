"""What a person (or the watchdog) changes in a backfill's progress: pause, unpause, a new concurrency, cancel,
retry the failed slots, a trigger disabled or enabled, and filling the lanes that are free. Each is computed from
the progress as read and written as one update whose condition pins what it was computed from
(storage/backfill_progress.py); the executors' writes, which name only their own lanes, seldom touch it."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backfill_core.backfills.model import BackfillSpec, BackfillStatus, SlotState
from backfill_core.backfills.progress import Hold, Progress, RateLimit, pace
from backfill_core.schedules.kestra_time import now


@dataclass(frozen=True)
class LaneChange:
    """A lane's new slot: `code`, or the cursor's place `fresh` after the cursor (a fresh slot), or none."""

    seen: int | None  # the code as read (None: no entry), which the write requires unchanged
    code: int | None = None
    fresh: int | None = None
    round: int = 0


@dataclass
class ProgressChange:
    sets: dict[str, Any] = field(default_factory=dict)  # attribute (as Progress names it) -> new value
    expect: dict[str, Any] = field(default_factory=dict)  # attribute -> value as read
    lanes: dict[int, LaneChange] = field(default_factory=dict)
    fresh: int = 0  # how far the cursor moves
    dues: dict[int, int] = field(default_factory=dict)  # lane -> when its slot is dispatched, under a rate limit
    adds: dict[str, int] = field(default_factory=dict)  # counter -> amount
    # The slots never sent count cancelled, counted by the write from the cursor as it stands then (nothing moves
    # the cursor once the backfill is not RUNNING), so the change need not expect the cursor executors move.
    unsent_cancelled: bool = False

    def __bool__(self) -> bool:
        return bool(self.sets or self.lanes or self.fresh or self.adds or self.unsent_cancelled)

    def dispatched(self, after: Progress) -> list[tuple[int, int, int]]:
        """(lane, position, round) of each slot this change sent, read from the progress as its write left it:
        a fresh slot's position is where the cursor stood at the write, which executors may have moved since
        the read."""
        sent = []
        for lane, change in sorted(self.lanes.items()):
            slot = after.lane(lane)
            if (change.fresh is not None or change.code is not None) and slot and slot.state == SlotState.DISPATCHED:
                sent.append((lane, slot.position, slot.round))
        return sent


def _set(change: ProgressChange, progress: Progress, **values: Any) -> None:
    for name, value in values.items():
        change.expect.setdefault(name, getattr(progress, name))
        change.sets[name] = value


def _effective(progress: Progress, change: ProgressChange) -> Progress:
    return progress.model_copy(update=change.sets)


def fill(progress: Progress, change: ProgressChange) -> None:
    """Free lanes below the concurrency take the queued retries first, then fresh slots from the cursor, unless the
    backfill (as this change leaves it) is held or no longer running."""
    after = _effective(progress, change)
    if after.held or after.status != BackfillStatus.RUNNING:
        return
    retry = list(after.retry)
    # Slots still in flight on lanes above a lowered window count too: the window is never exceeded.
    emptied = {lane for lane, c in change.lanes.items() if c.code is None and c.fresh is None}
    places = after.concurrency - len([slot for slot in progress.in_flight if slot.lane not in emptied])
    free = [lane for lane in after.idle_lanes() if lane not in change.lanes][: max(places, 0)]
    for lane in free:
        if retry:
            position = retry.pop(0)
            change.lanes[lane] = LaneChange(progress.slots.get(lane), code=position, round=after.round)
        elif progress.cursor + change.fresh < progress.total:
            change.lanes[lane] = LaneChange(progress.slots.get(lane), fresh=change.fresh)
            change.fresh += 1
    if retry != after.retry:
        _set(change, progress, retry=retry)
    _pace(progress, change)


def _pace(progress: Progress, change: ProgressChange) -> None:
    """Under a rate limit, the slots this change sends (parked ones released, free lanes filled) are spaced from
    the pacing as read, which the write then requires unchanged; the slots go one spacing apart, in lane order."""
    sending = sorted(lane for lane, c in change.lanes.items() if c.code is not None or c.fresh is not None)
    if not sending:
        return
    change.expect.setdefault("max_slots_per_minute", progress.max_slots_per_minute)
    paced = pace(_effective(progress, change), len(sending), now())
    if paced is not None:
        change.dues = dict(zip(sending, paced.due_us, strict=True))
        _set(change, progress, next_dispatch_us=paced.next_us)


def _release_parked(progress: Progress, change: ProgressChange) -> None:
    for slot in progress.in_flight:
        if slot.state == SlotState.PARKED:
            change.lanes[slot.lane] = LaneChange(slot.code, code=slot.position, round=slot.round)


def change_window(
    progress: Progress, concurrency: int | None = None, paused: bool | None = None, rate: RateLimit | None = None
) -> ProgressChange:
    """A new concurrency, rate limit and a pause or unpause, together: the window takes effect at once (a larger one
    dispatches more now; a smaller one lets the slots in flight end, and lanes above it take nothing new); a rate
    limit paces the slots dispatched from then on (those already sent keep their times).
    Unpause sends the parked slots first, then fills; the failures so far count as seen (maxFailures counts
    anew). A person's pause clears a pause the failure policy made, so retry-failed leaves it paused."""
    change = ProgressChange()
    if not progress.dispatching:
        return change
    if paused is True and (not progress.paused or progress.pause_reason):
        _set(change, progress, paused=True, pause_reason=None)
    if concurrency is not None and concurrency != progress.concurrency:
        _set(change, progress, concurrency=concurrency)
    if rate is not None and rate.per_minute != progress.max_slots_per_minute:
        _set(change, progress, max_slots_per_minute=rate.per_minute)
    if paused is False and progress.paused:
        _set(change, progress, paused=False, pause_reason=None, failures_seen=progress.failed)
        change.expect["failed"] = progress.failed
        if not progress.holds - {Hold.PAUSED}:
            _release_parked(progress, change)
    if change:
        fill(progress, change)
    return change


def set_hold(progress: Progress, hold: Hold, value: bool | str | None) -> ProgressChange:
    """Hold the backfill for this reason (`value`: true, or when it began for YIELDING), or lift it (false, None):
    once nothing else holds it, its parked slots go first, then the free lanes fill. Nothing to write when the
    reason is already as asked."""
    change = ProgressChange()
    if not progress.dispatching or (hold in progress.holds) == (value not in (False, None)):
        return change
    _set(change, progress, **{hold.value: value})
    if value in (False, None) and not progress.holds - {hold}:
        _release_parked(progress, change)
        fill(progress, change)
    return change


def refill(progress: Progress) -> ProgressChange:
    """The watchdog's net: places free in a running backfill's window that no lane holds are filled. Every move
    keeps them filled (a slot ending above a lowered window hands its place down), so this finds none unless a
    defect left the backfill with nothing in flight and nothing to send it on. Pinned to the window and flags read."""
    change = ProgressChange()
    if not progress.dispatching or progress.held:
        return change
    fill(progress, change)
    if change:
        for name in ("concurrency", "paused", "trigger_disabled", "status"):
            change.expect.setdefault(name, getattr(progress, name))
    return change


def cancel(progress: Progress, kill: bool = False, sent_too: bool = True) -> ProgressChange:
    """Stop dispatch and cancel what waits: slots never sent, parked ones and, `sent_too`, those sent but not
    started count cancelled (queued retries stay failed, as their records say); running ones end as they will, or
    are killed with `kill`. A sent slot left out is cancelled by its message's claim, which finds the backfill no
    longer RUNNING.

    The slots never sent are counted by the write from the cursor (ProgressChange.unsent_cancelled), so a cancel
    never expects the cursor; without `sent_too` it expects no sent slot's lane either. Executors move both many
    times a second on a busy backfill: a cancel that expected them lost to every one of them (a 409 after 20 s at
    concurrency 50, bench.dispatch_cost)."""
    change = ProgressChange()
    if not progress.dispatching:
        return change
    _set(change, progress, status=BackfillStatus.CANCELLING, kill=kill, retry=[])
    change.unsent_cancelled = progress.cursor < progress.total
    cancelled, failed = 0, len(progress.retry)
    waiting = (SlotState.PARKED, SlotState.DISPATCHED) if sent_too else (SlotState.PARKED,)
    for slot in progress.in_flight:
        if slot.state in waiting:
            change.lanes[slot.lane] = LaneChange(slot.code)
            if slot.round:
                failed += 1
            else:
                cancelled += 1
    change.adds = {name: n for name, n in (("cancelled", cancelled), ("failed", failed)) if n}
    return change


def cancelling(kill: bool = False) -> Callable[[BackfillSpec, Progress], ProgressChange]:
    """A cancel's decision for backfills.changes.change: its first try calls off the sent slots too, so that a quiet
    backfill is CANCELLED at once; a try after one that lost leaves them to their claims, so that no number of busy
    executors can keep the cancel from landing. One decision may serve several backfills (a trigger's)."""
    tries: dict[str, int] = {}

    def decide(spec: BackfillSpec, progress: Progress) -> ProgressChange:
        tries[spec.id] = tries.get(spec.id, 0) + 1
        return cancel(progress, kill, sent_too=tries[spec.id] == 1)

    return decide


def retry_failed(progress: Progress, positions: list[int]) -> tuple[ProgressChange, int]:
    """Run these failed slots again as a new round; a backfill that ended runs again, and one its failure policy
    paused carries on. Returns the change and how many slots it queued."""
    change = ProgressChange()
    busy = {slot.position for slot in progress.in_flight} | set(progress.retry)
    fresh = [p for p in positions if p not in busy][: progress.failed]
    if not fresh or progress.status in (BackfillStatus.CANCELLING, BackfillStatus.CANCELLED):
        return change, 0
    _set(
        change,
        progress,
        round=progress.round + 1,
        retry=progress.retry + fresh,
        status=BackfillStatus.RUNNING,
        failures_seen=min(progress.failures_seen, progress.failed - len(fresh)),
    )
    change.expect["failed"] = progress.failed
    change.adds["failed"] = -len(fresh)
    if progress.pause_reason:
        _set(change, progress, paused=False, pause_reason=None)
        if not progress.holds - {Hold.PAUSED}:
            _release_parked(progress, change)
    fill(progress, change)
    return change, len(fresh)


def settle(progress: Progress, status: BackfillStatus) -> ProgressChange:
    """Store the status a reader derives for a backfill that has ended, pinned to the lanes and cursor as read."""
    change = ProgressChange()
    if status != progress.status:
        _set(change, progress, status=status)
        change.expect |= {"slots": progress.slots, "cursor": progress.cursor, "retry": progress.retry}
    return change
