"""The progress item's writes against DynamoDB (moto): a claim and a finish each name only their own lane, so
slots never make each other's writes fail; the cursor hands out each fresh position once; a write that fails
says what it found."""

from datetime import UTC, datetime

from backfill_core.aws_clients import dynamodb
from backfill_core.backfills.model import SlotState
from backfill_core.backfills.progress import LaneSlot, Progress
from backfill_core.settings import settings
from backfill_core.storage import backfill_progress

AT = datetime(2024, 1, 1, tzinfo=UTC)
ID = "b1"


def started(concurrency: int = 3, total: int = 10, **fields) -> Progress:
    """A backfill whose first window is dispatched: lane n holds position n."""
    progress = Progress(
        total=total,
        concurrency=concurrency,
        cursor=concurrency,
        slots={lane: lane for lane in range(concurrency)},
        updated=AT,
        **fields,
    )
    dynamodb().put_item(TableName=settings().triggers_table, Item=backfill_progress.item(ID, progress))
    return progress


def dispatched(lane: int, position: int, round_: int = 0) -> LaneSlot:
    return LaneSlot(lane, position, SlotState.DISPATCHED, round_)


def running(lane: int, position: int, round_: int = 0) -> LaneSlot:
    return LaneSlot(lane, position, SlotState.RUNNING, round_)


def test_claims_and_finishes_of_different_lanes_never_fail_each_other(aws):
    started()
    for lane in range(3):
        ok, progress = backfill_progress.claim(ID, dispatched(lane, lane), AT)
        assert ok and progress is not None
        assert progress.lane(lane) == running(lane, lane)
    # Every lane finishes from the progress its claim saw, however stale: none fails, each takes a new place.
    taken = []
    for lane in (2, 0, 1):
        ok, progress = backfill_progress.end_slot(ID, running(lane, lane), "succeeded", "CURSOR", AT)
        assert ok and progress is not None
        taken.append(progress.slots[lane])
    assert sorted(taken) == [3, 4, 5] and progress.cursor == 6 and progress.succeeded == 3


def test_a_duplicate_claim_fails_and_says_the_slot_is_running(aws):
    started()
    assert backfill_progress.claim(ID, dispatched(1, 1), AT)[0]
    ok, found = backfill_progress.claim(ID, dispatched(1, 1), AT)
    assert not ok and found is not None and found.lane(1) == running(1, 1)


def test_a_claim_of_a_paused_backfill_fails_and_the_slot_parks(aws):
    started(paused=True)
    ok, found = backfill_progress.claim(ID, dispatched(0, 0), AT)
    assert not ok and found is not None and found.paused
    ok, parked = backfill_progress.park(ID, dispatched(0, 0), AT)
    assert ok and parked is not None and parked.lane(0) == LaneSlot(0, 0, SlotState.PARKED, 0)


def test_the_last_places_leave_their_lanes_idle_past_the_end(aws):
    started(concurrency=2, total=3)
    for lane in range(2):
        backfill_progress.claim(ID, dispatched(lane, lane), AT)
    ok, progress = backfill_progress.end_slot(ID, running(0, 0), "succeeded", "CURSOR", AT)
    assert ok and progress is not None and progress.lane(0) == dispatched(0, 2)
    ok, progress = backfill_progress.end_slot(ID, running(1, 1), "failed", "CURSOR", AT)
    assert ok and progress is not None and progress.lane(1) is None  # position 3 is past the last slot
    assert (progress.succeeded, progress.failed, progress.dispatched) == (1, 1, 3)


def test_a_finish_takes_the_first_retry_in_its_round(aws):
    started(concurrency=1, retry=[7, 8], round=1)
    backfill_progress.claim(ID, dispatched(0, 0), AT)
    ok, progress = backfill_progress.end_slot(ID, running(0, 0), "succeeded", "RETRY", AT, retry_head=7, round=1)
    assert ok and progress is not None
    assert progress.lane(0) == dispatched(0, 7, 1) and progress.retry == [8] and progress.cursor == 1
    ok, found = backfill_progress.end_slot(ID, running(0, 0), "succeeded", "CURSOR", AT)
    assert not ok and found is not None and found.succeeded == 1  # counted once: the lane moved on


def test_a_finish_that_trips_the_failure_policy_pauses_and_idles_its_lane(aws):
    started(concurrency=2)
    backfill_progress.claim(ID, dispatched(0, 0), AT)
    ok, progress = backfill_progress.end_slot(
        ID, running(0, 0), "failed", "IDLE", AT, pause="maxFailures: 1", failed=0, failures_seen=0
    )
    assert ok and progress is not None
    assert progress.paused and progress.pause_reason == "maxFailures: 1" and progress.lane(0) is None
    assert progress.failed == 1
