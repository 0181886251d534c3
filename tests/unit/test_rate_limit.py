"""maxSlotsPerMinute, as the progress decides it: dispatch times one spacing apart from now or from the last one's
turn, so that no 60-second span holds more than the limit; a change sends its slots one spacing apart too, and a
PATCH of the limit paces the slots dispatched after it."""

from datetime import UTC, datetime

from backfill_core.backfills import progress_changes as pc
from backfill_core.backfills.model import SlotState
from backfill_core.backfills.progress import Progress, RateLimit, code_of, pace, spacing_us

NOW = datetime(2024, 1, 1, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)


def most_in_any_minute(times_ms: list[int]) -> int:
    """The most of these times any closed 60-second span holds."""
    times = sorted(times_ms)
    return max(sum(1 for t in times if start <= t <= start + 60_000_000) for start in times)


def test_paced_dispatch_times_never_put_more_than_the_limit_in_any_minute():
    for rate in (1, 7, 30, 61, 600):
        paced = pace(Progress(total=1000, concurrency=5, max_slots_per_minute=rate, updated=NOW), 3 * rate, NOW)
        assert paced is not None
        assert paced.due_us[0] == NOW_US  # the first goes at once
        assert most_in_any_minute(paced.due_us) == rate
        assert paced.next_us == paced.due_us[-1] + spacing_us(rate)


def test_a_dispatch_waits_for_the_last_ones_turn_and_an_idle_pacing_starts_from_now():
    later = NOW_US + 5_000_000
    busy = Progress(total=9, concurrency=2, max_slots_per_minute=30, next_dispatch_us=later, updated=NOW)
    assert pace(busy, 1, NOW).due_us == [later]  # type: ignore[union-attr]
    idle = busy.model_copy(update={"next_dispatch_us": NOW_US - 60_000_000})
    assert pace(idle, 1, NOW).due_us == [NOW_US]  # type: ignore[union-attr]
    assert pace(busy.model_copy(update={"max_slots_per_minute": None}), 1, NOW) is None


def test_an_unpause_sends_its_slots_one_spacing_apart_and_pins_the_pacing_it_read():
    parked = Progress(
        total=9,
        concurrency=3,
        cursor=2,
        slots={0: code_of(0, SlotState.PARKED), 1: code_of(1, SlotState.PARKED)},
        paused=True,
        max_slots_per_minute=20,
        next_dispatch_us=NOW_US - 1,
        updated=NOW,
    )
    change = pc.change_window(parked, paused=False)
    assert sorted(change.lanes) == [0, 1, 2]  # the two parked slots, then a fresh one
    dues = [change.dues[lane] for lane in (0, 1, 2)]
    assert [b - a for a, b in zip(dues, dues[1:], strict=False)] == [3_000_050, 3_000_050]
    assert change.expect["next_dispatch_us"] == NOW_US - 1 and change.expect["max_slots_per_minute"] == 20
    assert change.sets["next_dispatch_us"] == dues[-1] + 3_000_050


def test_a_new_limit_paces_what_the_change_sends_and_null_removes_it():
    running = Progress(total=9, concurrency=1, cursor=1, slots={0: 0}, updated=NOW)
    wider = pc.change_window(running, concurrency=3, rate=RateLimit(6))
    assert wider.sets["max_slots_per_minute"] == 6 and wider.expect["max_slots_per_minute"] is None
    assert sorted(wider.dues) == [1, 2] and wider.dues[2] - wider.dues[1] == 10_000_167
    limited = running.model_copy(update={"max_slots_per_minute": 6})
    removed = pc.change_window(limited, rate=RateLimit(None))
    assert removed.sets == {"max_slots_per_minute": None} and not removed.dues
    assert not pc.change_window(limited, rate=RateLimit(6))  # the same limit: nothing to write
