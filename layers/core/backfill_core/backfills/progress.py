"""A backfill's progress, as its executors move it: each slot in flight is held by a lane, fresh slots come from a
cursor that only ever grows, and the counters only add. A claim or a finish is one conditional update of one item
whose condition names only its own lane and the flags it depends on, so two slots never conflict (DESIGN.md,
Scale rule). These functions decide what a message may do; storage/backfill_progress.py writes it.

A slot is named by its position: its index in the backfill's order (SlotOrder.nth gives its date). A lane's code
says its slot's position and state in one number, so the item stays small at any concurrency.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from backfill_core.backfills.model import BackfillStatus, SlotOutcome, SlotState

PARKED_BASE = 10**15  # far past any position: a ten-year backfill of every second has 3.2e8 slots


def code_of(position: int, state: SlotState) -> int:
    if state == SlotState.RUNNING:
        return -(position + 1)
    if state == SlotState.PARKED:
        return PARKED_BASE + position
    return position


def decode(code: int) -> tuple[int, SlotState]:
    if code < 0:
        return -code - 1, SlotState.RUNNING
    if code >= PARKED_BASE:
        return code - PARKED_BASE, SlotState.PARKED
    return code, SlotState.DISPATCHED


class Hold(StrEnum):
    """A reason a running backfill dispatches and starts nothing new, named as the Progress field that says it."""

    PAUSED = "paused"  # by a person, or by its failure policy
    TRIGGER_DISABLED = "trigger_disabled"  # its trigger is disabled, or its stored flow no longer validates
    WINDOW_CLOSED = "window_closed"  # outside its run window
    YIELDING = "yielding_since"  # a moment, while a live slot of its trigger starts


@dataclass(frozen=True)
class LaneSlot:
    """The slot a lane holds."""

    lane: int
    position: int
    state: SlotState
    round: int

    @property
    def code(self) -> int:
        return code_of(self.position, self.state)


class Progress(BaseModel):
    """The progress item, as read. `total` is the request's (every slot of the range), kept here so that a lane
    knows when the cursor has passed the last slot."""

    total: int
    concurrency: int
    max_slots_per_minute: int | None = None  # the rate limit; None: none
    next_dispatch_us: int | None = None  # with a rate limit, when (epoch µs) the next slot may be dispatched
    cursor: int = 0
    slots: dict[int, int] = {}  # lane -> code
    rounds: dict[int, int] = {}  # lane -> round of its slot, when not 0
    retry: list[int] = []  # positions of failed slots to run again, in round `round`, before the cursor
    round: int = 0
    paused: bool = False
    pause_reason: str | None = None
    trigger_disabled: bool = False
    window_closed: bool = False
    yielding_since: str | None = None  # held while a live slot of its trigger starts (storage key of when it began)
    status: BackfillStatus = BackfillStatus.RUNNING
    kill: bool = False
    failures_seen: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    updated: datetime

    def lane(self, lane: int) -> LaneSlot | None:
        """The slot the lane holds; None when it is idle (it holds none, or only a place past the last slot)."""
        code = self.slots.get(lane)
        if code is None:
            return None
        position, state = decode(code)
        if state == SlotState.DISPATCHED and position >= self.total:
            return None
        return LaneSlot(lane, position, state, self.rounds.get(lane, 0))

    @property
    def in_flight(self) -> list[LaneSlot]:
        held = (self.lane(lane) for lane in sorted(self.slots))
        return [slot for slot in held if slot is not None]

    @property
    def holds(self) -> set["Hold"]:
        """What holds it: a person's pause, its trigger disabled, its run window closed, a live slot going first."""
        return {hold for hold in Hold if getattr(self, hold.value) not in (False, None)}

    @property
    def held(self) -> bool:
        return bool(self.holds)

    @property
    def dispatched(self) -> int:
        """Fresh slots sent so far (a retry is not counted again)."""
        return min(self.cursor, self.total)

    @property
    def stored_running(self) -> bool:
        return self.status == BackfillStatus.RUNNING

    @property
    def dispatching(self) -> bool:
        """Running, and not yet ended: a backfill with nothing left may still be stored RUNNING until the
        watchdog stores its end."""
        return settled_status(self) == BackfillStatus.RUNNING

    def idle_lanes(self) -> list[int]:
        """The lanes below the concurrency that hold no slot: the places a dispatch may fill."""
        return [lane for lane in range(self.concurrency) if self.lane(lane) is None]


class Claim(StrEnum):
    RUN = "RUN"  # run (or resume) the slot's execution
    RESUME = "RESUME"  # held or cancelled since the slot was claimed: resume its execution if it exists
    PARK = "PARK"  # the backfill is held: keep the slot for unpause, run nothing
    CANCEL = "CANCEL"  # the backfill was cancelled before the slot was claimed: count it cancelled, run nothing
    DROP = "DROP"  # nothing to do: the slot finished, was cancelled, or this message is a stale copy


def claim_of(progress: Progress, lane: int, position: int, round_: int) -> Claim:
    """What a message for this lane's slot may do, from the progress as it is now."""
    held = progress.lane(lane)
    if held is None or held.position != position or held.round != round_ or held.state == SlotState.PARKED:
        return Claim.DROP
    if held.state == SlotState.RUNNING:
        # A redelivery after a crash, or a duplicate: the execution's lease decides. Once the backfill is held or
        # cancelled, an execution that never got created must not start now.
        return Claim.RESUME if progress.held or not progress.stored_running else Claim.RUN
    if not progress.stored_running:
        return Claim.CANCEL
    return Claim.PARK if progress.held else Claim.RUN


class Next(StrEnum):
    """Where a lane goes once its slot ends."""

    CURSOR = "CURSOR"  # the next fresh slot
    RETRY = "RETRY"  # the first failed slot queued for a retry
    IDLE = "IDLE"  # nothing: held, cancelled, above the concurrency, or the failure policy paused it
    DONE = "DONE"  # the slot was already counted (a duplicate message): nothing to write


COUNTERS = {
    SlotOutcome.SUCCEEDED: "succeeded",
    SlotOutcome.FAILED: "failed",
    SlotOutcome.SKIPPED: "skipped",
    SlotOutcome.CANCELLED: "cancelled",
}


def next_of(progress: Progress, lane: int, position: int, round_: int, outcome: SlotOutcome) -> Next:
    """Where the lane's slot goes once it ends. A lane above the concurrency takes nothing, unless
    `successor_lane` names a lane below it that takes the next slot in its place."""
    held = progress.lane(lane)
    if held is None or held.position != position or held.round != round_ or held.state != SlotState.RUNNING:
        return Next.DONE
    if not progress.stored_running or progress.held:
        return Next.IDLE
    if lane >= progress.concurrency and successor_lane(progress, lane) is None:
        return Next.IDLE
    return Next.RETRY if progress.retry else Next.CURSOR


def successor_lane(progress: Progress, lane: int) -> int | None:
    """The idle lane below a lowered concurrency to which a slot ending above it hands its place: the lowest one,
    when the other slots in flight leave room in the window and there is a slot to send. Otherwise lanes below the
    window that went idle while their backfill was held stay idle after an unpause that found the window full, and
    once the lanes above it end, nothing is in flight and nothing sends (the race suite, seed 3722799787)."""
    if lane < progress.concurrency or (not progress.retry and progress.cursor >= progress.total):
        return None
    others = [slot for slot in progress.in_flight if slot.lane != lane]
    idle = progress.idle_lanes()
    return idle[0] if idle and len(others) < progress.concurrency else None


@dataclass(frozen=True)
class RateLimit:
    """A rate limit to set on a running backfill: slots dispatched per minute at most (None: no limit)."""

    per_minute: int | None


@dataclass(frozen=True)
class Pace:
    """A dispatch under the rate limit (maxSlotsPerMinute): the dispatch times of the slots sent, and the pacing's
    next free time after them, computed from `seen_us` (the write requires both it and the rate unchanged)."""

    rate: int
    seen_us: int | None
    due_us: list[int]
    next_us: int


def spacing_us(rate: int) -> int:
    """The time between two dispatches, in microseconds: a little over 60/rate seconds, so that no 60-second span,
    however it falls, holds more than `rate` of them."""
    return -(-60_001_000 // rate)


def pace(progress: Progress, count: int, at: datetime) -> Pace | None:
    """Dispatch times for the next `count` slots: one every spacing_us, from now or from the last one's turn,
    whichever is later. None without a rate limit (the slots go at once)."""
    rate = progress.max_slots_per_minute
    if rate is None:
        return None
    step = spacing_us(rate)
    first = max(int(at.timestamp() * 1_000_000), progress.next_dispatch_us or 0)
    return Pace(rate, progress.next_dispatch_us, [first + n * step for n in range(count)], first + count * step)


def trips_failure_policy(progress: Progress, outcome: SlotOutcome, max_failures: int | None) -> bool:
    """This failure reaches the backfill's maxFailures (counting the failures since the user last unpaused)."""
    if outcome != SlotOutcome.FAILED or not max_failures or progress.paused:
        return False
    return progress.failed + 1 - progress.failures_seen >= max_failures


def failure_pause_reason(new_failures: int, max_failures: int) -> str:
    return (
        f"maxFailures: {new_failures} slots failed, the limit is {max_failures}; "
        "unpause to carry on or retry-failed to run them again"
    )


def settled_status(progress: Progress) -> BackfillStatus:
    """The status a reader sees: a running backfill with nothing left to send or in flight has ended, and a
    cancelling one with nothing in flight is cancelled (the watchdog then stores it)."""
    if progress.in_flight:
        return progress.status
    if progress.status == BackfillStatus.CANCELLING:
        return BackfillStatus.CANCELLED
    if progress.status == BackfillStatus.RUNNING and progress.cursor >= progress.total and not progress.retry:
        return BackfillStatus.FAILED if progress.failed else BackfillStatus.SUCCEEDED
    return progress.status
