"""The backfill's moves as pure decisions: what a slot's message may do, where its lane goes once it ends, what a
person's pause, unpause, new window, cancel and retry change, and how the backfill then reads."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.backfills import progress_changes as pc
from backfill_core.backfills import state_machine as bs
from backfill_core.backfills.model import BackfillSpec, BackfillStatus, SlotOutcome, SlotState
from backfill_core.backfills.progress import (
    Claim,
    Hold,
    LaneSlot,
    Next,
    Progress,
    claim_of,
    code_of,
    decode,
    next_of,
    settled_status,
    successor_lane,
    trips_failure_policy,
)
from backfill_core.backfills.view import backfill_view
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.schedules.order import SlotOrder

T0 = datetime(2024, 3, 28, 0, 0, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
D, R, P = SlotState.DISPATCHED, SlotState.RUNNING, SlotState.PARKED
OK, FAIL = SlotOutcome.SUCCEEDED, SlotOutcome.FAILED


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


SPEC = BackfillSpec(
    id="bf-1",
    tenant="main",
    namespace="company.team",
    flow_id="scheduled_flow",
    trigger_id="schedule",
    trigger_type="io.kestra.plugin.core.trigger.Schedule",
    cron="0 * * * *",
    timezone="UTC",
    start=T0,
    end=hour(5),
    total=6,
    created=NOW,
)


def progress(lanes: dict[int, tuple[int, SlotState]] | None = None, **fields) -> Progress:
    """progress({0: (2, RUNNING)}, cursor=3): lane 0 holds position 2, running."""
    values = {"total": 6, "concurrency": 1, "cursor": 1, "updated": NOW, "slots": {0: 0}}
    if lanes is not None:
        values["slots"] = {lane: code_of(position, state) for lane, (position, state) in lanes.items()}
    values.update(fields)
    return Progress(**values)


def test_a_code_says_position_and_state():
    for position in (0, 1, 525_599):
        for state in (D, R, P):
            assert decode(code_of(position, state)) == (position, state)


def test_a_lane_past_the_last_slot_is_idle():
    p = progress({0: (6, D), 1: (5, R)}, concurrency=2, cursor=7)
    assert p.lane(0) is None and p.lane(1) == LaneSlot(1, 5, R, 0)
    assert p.idle_lanes() == [0] and p.dispatched == 6


# --- a slot's message ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lanes", "fields", "expected"),
    [
        ({0: (0, D)}, {}, Claim.RUN),
        ({0: (0, D)}, {"paused": True}, Claim.PARK),
        ({0: (0, D)}, {"trigger_disabled": True}, Claim.PARK),
        ({0: (0, D)}, {"status": BackfillStatus.CANCELLING}, Claim.CANCEL),
        ({0: (0, R)}, {}, Claim.RUN),  # a redelivery: the execution's lease decides
        ({0: (0, R)}, {"paused": True}, Claim.RESUME),
        ({0: (0, R)}, {"status": BackfillStatus.CANCELLING}, Claim.RESUME),
        ({0: (0, P)}, {}, Claim.DROP),
        ({0: (1, D)}, {}, Claim.DROP),  # the lane moved on: a stale copy
        ({}, {}, Claim.DROP),
    ],
)
def test_what_a_slots_message_may_do(lanes, fields, expected):
    assert claim_of(progress(lanes, **fields), 0, 0, 0) == expected


def test_a_message_of_an_earlier_round_is_stale():
    p = progress({0: (3, D)}, rounds={0: 1}, round=1)
    assert claim_of(p, 0, 3, 0) == Claim.DROP
    assert claim_of(p, 0, 3, 1) == Claim.RUN


@pytest.mark.parametrize(
    ("lanes", "fields", "expected"),
    [
        ({0: (0, R)}, {}, Next.CURSOR),
        ({0: (0, R)}, {"retry": [4]}, Next.RETRY),
        ({0: (0, R)}, {"paused": True}, Next.IDLE),
        ({0: (0, R)}, {"status": BackfillStatus.CANCELLING}, Next.IDLE),
        ({0: (0, R)}, {"concurrency": 0}, Next.IDLE),  # the window was lowered below this lane
        ({0: (1, D)}, {}, Next.DONE),  # already counted: the lane moved on
    ],
)
def test_where_a_lane_goes_once_its_slot_ends(lanes, fields, expected):
    assert next_of(progress(lanes, **fields), 0, 0, 0, OK) == expected


def test_the_failure_policy_counts_failures_since_the_last_unpause():
    assert not trips_failure_policy(progress(failed=1, failures_seen=0), FAIL, 3)
    assert trips_failure_policy(progress(failed=2, failures_seen=0), FAIL, 3)
    assert not trips_failure_policy(progress(failed=4, failures_seen=3), FAIL, 3)
    assert not trips_failure_policy(progress(failed=9), OK, 3)
    assert not trips_failure_policy(progress(failed=9), FAIL, None)


# --- how it ends -------------------------------------------------------------------------------------------


def test_a_backfill_ends_when_nothing_is_left_to_send_or_in_flight():
    assert settled_status(progress({0: (6, D)}, cursor=7)) == BackfillStatus.SUCCEEDED
    assert settled_status(progress({0: (6, D)}, cursor=7, failed=1)) == BackfillStatus.FAILED
    assert settled_status(progress({0: (5, R)}, cursor=6)) == BackfillStatus.RUNNING
    assert settled_status(progress({}, cursor=4, paused=True)) == BackfillStatus.RUNNING  # slots wait for unpause
    assert settled_status(progress({}, cursor=6, retry=[2])) == BackfillStatus.RUNNING
    assert settled_status(progress({0: (5, R)}, status=BackfillStatus.CANCELLING)) == BackfillStatus.CANCELLING
    assert settled_status(progress({}, status=BackfillStatus.CANCELLING)) == BackfillStatus.CANCELLED


# --- a person's changes ------------------------------------------------------------------------------------


def test_a_larger_window_fills_the_new_lanes_from_the_cursor():
    change = pc.change_window(progress({0: (0, R)}), concurrency=3)
    assert change.sets == {"concurrency": 3} and change.fresh == 2
    assert change.lanes == {1: pc.LaneChange(None, fresh=0), 2: pc.LaneChange(None, fresh=1)}


def test_a_smaller_window_sends_nothing():
    p = progress({0: (0, R), 1: (1, R), 2: (2, D)}, concurrency=3, cursor=3)
    change = pc.change_window(p, concurrency=1)
    assert change.sets == {"concurrency": 1} and not change.lanes and not change.fresh


def test_pause_sends_nothing_and_a_window_widened_while_paused_stays_empty():
    change = pc.change_window(progress({0: (0, R)}), concurrency=3, paused=True)
    assert change.sets == {"paused": True, "pause_reason": None, "concurrency": 3} and not change.lanes


def test_unpause_sends_the_parked_slots_first_then_fills():
    p = progress({0: (1, P)}, concurrency=2, cursor=2, paused=True, failed=1)
    change = pc.change_window(p, paused=False)
    assert change.sets["paused"] is False and change.sets["failures_seen"] == 1 and change.expect["failed"] == 1
    assert change.lanes == {0: pc.LaneChange(code_of(1, P), code=1), 1: pc.LaneChange(None, fresh=0)}


def test_unpause_while_the_trigger_is_disabled_keeps_the_slots_parked():
    p = progress({0: (1, P)}, paused=True, trigger_disabled=True)
    change = pc.change_window(p, paused=False)
    assert change.sets["paused"] is False and not change.lanes


def test_enabling_the_trigger_carries_on_like_unpause():
    p = progress({0: (1, P)}, concurrency=2, cursor=2, trigger_disabled=True)
    enabled = pc.set_hold(p, Hold.TRIGGER_DISABLED, False)
    assert enabled.lanes == {0: pc.LaneChange(code_of(1, P), code=1), 1: pc.LaneChange(None, fresh=0)}
    assert not pc.set_hold(p, Hold.TRIGGER_DISABLED, True)


def test_cancel_counts_what_waits_and_lets_running_slots_end():
    p = progress({0: (0, R), 1: (1, D), 2: (2, P)}, concurrency=3, cursor=3, retry=[], total=6)
    change = pc.cancel(p, kill=True)
    assert change.sets == {"status": BackfillStatus.CANCELLING, "kill": True, "retry": []}
    assert sorted(change.lanes) == [1, 2] and all(c.code is None for c in change.lanes.values())
    assert change.adds == {"cancelled": 2}  # the two waiting
    assert change.unsent_cancelled  # the three never sent: counted by the write, from the cursor as it stands then
    assert "cursor" not in change.expect  # executors move it many times a second: a cancel never waits on them


def test_a_cancel_that_lost_a_try_leaves_the_sent_slots_to_their_claims():
    """A sent slot's lane changes as soon as its message is claimed: on a busy backfill a cancel expecting it would
    lose every try, so after one lost it expects only the parked ones (their claims count the sent ones)."""
    p = progress({0: (0, R), 1: (1, D), 2: (2, P)}, concurrency=3, cursor=3, retry=[], total=6)
    decide = pc.cancelling()
    first, second = decide(SPEC, p), decide(SPEC, p)
    assert sorted(first.lanes) == [1, 2] and first.adds == {"cancelled": 2}
    assert sorted(second.lanes) == [2] and second.adds == {"cancelled": 1}
    assert first.unsent_cancelled and second.unsent_cancelled


def test_cancel_of_a_backfill_whose_cursor_reached_the_end_counts_nothing_unsent():
    p = progress({0: (5, R)}, concurrency=1, cursor=6, retry=[], total=6)
    change = pc.cancel(p)
    assert not change.unsent_cancelled and change.sets["status"] == BackfillStatus.CANCELLING


def test_cancel_keeps_queued_and_waiting_retries_failed():
    p = progress({0: (1, D), 1: (2, P)}, rounds={0: 1, 1: 1}, round=1, retry=[3], cursor=6, failed=0, succeeded=3)
    assert pc.cancel(p).adds == {"failed": 3}  # the queued, the sent and the parked retries
    assert pc.cancel(p, sent_too=False).adds == {"failed": 2}  # the sent one's claim counts it failed


def test_controls_leave_an_ended_backfill_as_it_is():
    ended = progress({0: (6, D)}, cursor=7)
    assert not pc.change_window(ended, concurrency=3, paused=True)
    assert not pc.cancel(ended)
    assert not pc.set_hold(ended, Hold.TRIGGER_DISABLED, True)


def test_retry_failed_reopens_an_ended_backfill_as_a_new_round_first():
    p = progress({0: (6, D)}, cursor=7, failed=2, succeeded=4)
    change, queued = pc.retry_failed(p, [1, 3])
    assert queued == 2 and change.adds == {"failed": -2}
    assert change.sets["round"] == 1 and change.sets["status"] == BackfillStatus.RUNNING
    assert change.sets["retry"] == [3]  # 1 went to the free lane at once
    assert change.lanes == {0: pc.LaneChange(6, code=1, round=1)}  # lane 0 held only a place past the end


def test_retry_failed_never_queues_more_than_failed_nor_a_slot_in_flight():
    p = progress({0: (1, R)}, cursor=6, failed=1)
    change, queued = pc.retry_failed(p, [1, 2, 3])
    assert queued == 1 and change.sets["retry"] == [2]


def test_retry_failed_resumes_a_backfill_its_failure_policy_paused_but_not_one_a_person_paused():
    by_policy = progress({}, cursor=3, failed=2, paused=True, pause_reason="maxFailures")
    change, _ = pc.retry_failed(by_policy, [0])
    assert change.sets["paused"] is False and change.lanes == {0: pc.LaneChange(None, code=0, round=1)}
    by_person = progress({}, cursor=3, failed=2, paused=True)
    change, _ = pc.retry_failed(by_person, [0])
    assert "paused" not in change.sets and not change.lanes


def test_retry_failed_does_nothing_for_a_cancelled_backfill():
    p = progress({}, cursor=6, failed=1, status=BackfillStatus.CANCELLED)
    assert pc.retry_failed(p, [0]) == (pc.ProgressChange(), 0)


# --- how it reads --------------------------------------------------------------------------------------------


def test_current_date_is_the_oldest_slot_not_started():
    p = progress({0: (0, R), 1: (1, R), 2: (3, D), 3: (2, P)}, concurrency=4, cursor=4)
    assert bs.current_date(backfill_view(SPEC, p)) == hour(2)
    assert bs.current_date(backfill_view(SPEC, progress({0: (0, R)}, cursor=1))) == hour(1)
    assert bs.current_date(backfill_view(SPEC, progress({0: (5, R)}, cursor=6))) is None


def test_a_new_backfill_is_queued_until_an_executor_picks_up_a_slot():
    assert bs.display_status(backfill_view(SPEC, progress({0: (0, D)}))) == "QUEUED"
    assert bs.display_status(backfill_view(SPEC, progress({0: (0, R)}))) == "RUNNING"
    assert bs.display_status(backfill_view(SPEC, progress({0: (0, D)}, paused=True))) == "PAUSED"


def test_slot_view_covers_every_state_of_a_slot():
    b = backfill_view(SPEC, progress({0: (1, R), 1: (2, P)}, concurrency=2, cursor=3))
    assert bs.slot_view(b, hour(0), "SKIPPED") == ("SKIPPED", 0)
    assert bs.slot_view(b, hour(1), "FAILED") == ("RUNNING", 0)  # an earlier round failed; this one runs
    assert bs.slot_view(b, hour(1), None) == ("RUNNING", 0)
    assert bs.slot_view(b, hour(2), None) == ("PARKED", 0)
    assert bs.slot_view(b, hour(4), None) == ("PENDING", 0)
    cancelled = backfill_view(SPEC, progress({}, cursor=3, status=BackfillStatus.CANCELLING))
    assert bs.slot_view(cancelled, hour(4), None) == ("CANCELLED", 0)
    assert cancelled.status == BackfillStatus.CANCELLED and cancelled.cursor is None


def test_the_view_names_slots_by_date_in_the_backfills_order():
    newest_first = SPEC.model_copy(update={"order": SlotOrder.NEWEST_FIRST})
    b = backfill_view(newest_first, progress({0: (0, R)}, cursor=1, retry=[5], round=1))
    assert list(b.inflight) == [storage_key(hour(5))] and b.cursor == hour(4) and b.retry == [storage_key(hour(0))]


def test_a_change_sends_what_its_write_left_in_its_lanes():
    """Executors move the cursor between a person's read and write: the fresh slots sent are where it stood."""
    change = pc.change_window(progress({0: (0, R)}, cursor=1), concurrency=3)
    after = progress({0: (0, R), 1: (4, D), 2: (5, D)}, concurrency=3, cursor=6)
    assert change.dispatched(after) == [(1, 4, 0), (2, 5, 0)]


def test_unpause_fills_no_more_than_the_window_counting_slots_on_lanes_above_it():
    """Was: a slot parked on a lane above a lowered window was sent again at unpause and the free lanes below it
    filled too, one more in flight than the window (the race suite, seed 1388309186)."""
    p = progress({2: (4, P)}, concurrency=2, cursor=5, paused=True)
    change = pc.change_window(p, paused=False)
    assert change.lanes == {2: pc.LaneChange(code_of(4, P), code=4), 0: pc.LaneChange(None, fresh=0)}


def test_a_slot_ending_above_a_lowered_window_hands_its_place_to_an_idle_lane_below_only_when_there_is_room():
    """Lanes below the window left idle by a pause stay idle after an unpause that found the window full; the slots
    above it, as they end, give them their places back (the race suite, seed 3722799787)."""
    full = progress({1: (1, R), 2: (2, R)}, concurrency=1, cursor=3)
    assert successor_lane(full, 1) is None and next_of(full, 1, 1, 0, OK) == Next.IDLE
    room = progress({2: (2, R)}, concurrency=1, cursor=3)
    assert successor_lane(room, 2) == 0 and next_of(room, 2, 2, 0, OK) == Next.CURSOR
    assert successor_lane(progress({3: (2, R), 1: (1, R)}, concurrency=3, cursor=3), 3) == 0  # the lowest idle lane
    assert successor_lane(progress({2: (2, R)}, concurrency=1, cursor=6), 2) is None  # nothing left to send
    retrying = progress({2: (2, R)}, concurrency=1, cursor=6, retry=[4], round=1)
    assert successor_lane(retrying, 2) == 0 and next_of(retrying, 2, 2, 0, OK) == Next.RETRY
    assert successor_lane(progress({0: (0, R)}, concurrency=1, cursor=3), 0) is None  # below the window: its own
    assert next_of(progress({2: (2, R)}, concurrency=1, cursor=3, paused=True), 2, 2, 0, OK) == Next.IDLE


def test_the_watchdogs_refill_fills_only_free_places_and_pins_the_window():
    stalled = progress({}, concurrency=2, cursor=3)
    change = pc.refill(stalled)
    assert change.lanes == {0: pc.LaneChange(None, fresh=0), 1: pc.LaneChange(None, fresh=1)} and change.fresh == 2
    assert change.expect == {
        "concurrency": 2,
        "paused": False,
        "trigger_disabled": False,
        "status": "RUNNING",
        "max_slots_per_minute": None,  # a rate limit set meanwhile would pace these slots
    }
    assert not pc.refill(progress({0: (2, R), 3: (1, R)}, concurrency=2, cursor=3))  # full, counting lane 3
    assert not pc.refill(progress({}, concurrency=2, cursor=3, paused=True))
    assert not pc.refill(progress({}, concurrency=2, cursor=6))  # nothing left to send: it has ended


def test_holds_stack_and_the_parked_slots_go_only_once_nothing_holds_the_backfill():
    parked = progress({0: (0, P)}, concurrency=2, cursor=1, paused=True, window_closed=True)
    assert parked.holds == {Hold.PAUSED, Hold.WINDOW_CLOSED}
    opened = pc.set_hold(parked, Hold.WINDOW_CLOSED, False)
    assert opened.sets == {"window_closed": False} and not opened.lanes  # still paused: nothing goes
    unpaused = pc.change_window(parked.model_copy(update={"window_closed": False}), paused=False)
    assert sorted(unpaused.lanes) == [0, 1]  # the parked slot first, then a fresh one
    yielding = progress({0: (0, P)}, concurrency=1, yielding_since="2024-01-01T00:00:00.000000Z")
    assert yielding.holds == {Hold.YIELDING} and yielding.held
    released = pc.set_hold(yielding, Hold.YIELDING, None)
    assert released.sets == {"yielding_since": None} and released.lanes[0].code == 0
    assert not pc.set_hold(yielding, Hold.YIELDING, "2024-01-01T00:00:01.000000Z")  # already stepping aside
