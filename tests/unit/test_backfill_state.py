"""The backfill state machine as pure transitions: window, claim, finish, pause, cancel, watchdog."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backfill_core.backfills import state_machine as bs
from backfill_core.backfills.model import Backfill, BackfillStatus, InflightSlot, SlotOutcome, SlotState
from backfill_core.backfills.state_machine import Claim
from backfill_core.schedules.kestra_time import storage_key

OK, FAIL = SlotOutcome.SUCCEEDED, SlotOutcome.FAILED

T0 = datetime(2024, 3, 28, 0, 0, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


ALL_SLOTS = [hour(n) for n in range(6)]  # 00:00 .. 05:00, end inclusive


def backfill(**overrides) -> Backfill:
    values = {
        "id": "bf-1",
        "tenant": "main",
        "namespace": "company.team",
        "flow_id": "scheduled_flow",
        "trigger_id": "schedule",
        "trigger_type": "io.kestra.plugin.core.trigger.Schedule",
        "cron": "0 * * * *",
        "timezone": "UTC",
        "start": T0,
        "end": hour(5),
        "cursor": T0,
        "concurrency": 1,
        "total": len(ALL_SLOTS),
        "created": NOW,
        "updated": NOW,
    }
    values.update(overrides)
    return Backfill(**values)


def inflight(**states: SlotState) -> dict[str, InflightSlot]:
    """inflight(h0=DISPATCHED, h3=RUNNING): slots by hour index."""
    return {storage_key(hour(int(k[1:]))): InflightSlot(state=s, since=NOW) for k, s in states.items()}


def state_of(b: Backfill, slot: datetime) -> SlotState | None:
    entry = b.inflight.get(storage_key(slot))
    return entry.state if entry else None


DISPATCHED, RUNNING, PARKED = SlotState.DISPATCHED, SlotState.RUNNING, SlotState.PARKED


# --- fill_window ------------------------------------------------------------------------------------


def test_fill_window_dispatches_one_slot_by_default_and_moves_the_cursor():
    b, sent = bs.fill_window(backfill(), NOW)

    assert sent == [hour(0)]
    assert b.cursor == hour(1)
    assert b.dispatched == 1
    assert state_of(b, hour(0)) == DISPATCHED
    assert b.inflight[storage_key(hour(0))].since == NOW
    assert b.status == BackfillStatus.RUNNING
    assert b.updated == NOW


def test_fill_window_dispatches_up_to_concurrency_slots_oldest_first():
    b, sent = bs.fill_window(backfill(concurrency=3), LATER)

    assert sent == [hour(0), hour(1), hour(2)]
    assert b.cursor == hour(3)
    assert b.dispatched == 3
    assert sorted(b.inflight) == [storage_key(s) for s in sent]
    assert b.updated == LATER


def test_fill_window_only_fills_free_places():
    b = backfill(concurrency=3, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=DISPATCHED), dispatched=2)

    b, sent = bs.fill_window(b, NOW)

    assert sent == [hour(2)]
    assert b.cursor == hour(3)
    assert b.dispatched == 3
    assert len(b.inflight) == 3


def test_fill_window_with_a_full_window_sends_nothing_and_changes_nothing():
    before = backfill(concurrency=2, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=DISPATCHED), dispatched=2)

    after, sent = bs.fill_window(before, LATER)

    assert sent == []
    assert after.cursor == hour(2)
    assert after.dispatched == 2
    assert after.updated == NOW


def test_fill_window_after_concurrency_is_lowered_below_the_in_flight_count_sends_nothing():
    b = backfill(concurrency=1, cursor=hour(3), inflight=inflight(h0=RUNNING, h1=RUNNING, h2=DISPATCHED))

    b, sent = bs.fill_window(b, NOW)

    assert sent == []
    assert b.cursor == hour(3)


def test_fill_window_larger_than_the_rest_dispatches_all_and_exhausts_the_cursor():
    b, sent = bs.fill_window(backfill(concurrency=50), NOW)

    assert sent == ALL_SLOTS
    assert b.cursor is None
    assert b.dispatched == 6
    assert b.status == BackfillStatus.RUNNING  # slots are in flight


def test_fill_window_dispatching_exactly_the_last_slots_exhausts_the_cursor():
    b, sent = bs.fill_window(backfill(concurrency=2, cursor=hour(4), dispatched=4), NOW)

    assert sent == [hour(4), hour(5)]
    assert b.cursor is None
    assert b.status == BackfillStatus.RUNNING


def test_fill_window_marks_succeeded_only_when_cursor_exhausted_and_nothing_in_flight():
    in_flight, _ = bs.fill_window(backfill(cursor=None, inflight=inflight(h5=RUNNING)), NOW)
    cursor_left, _ = bs.fill_window(backfill(cursor=hour(5), concurrency=1, inflight=inflight(h4=RUNNING)), NOW)
    done, sent = bs.fill_window(backfill(cursor=None), LATER)

    assert in_flight.status == BackfillStatus.RUNNING
    assert cursor_left.status == BackfillStatus.RUNNING
    assert done.status == BackfillStatus.SUCCEEDED
    assert done.finished
    assert sent == []
    assert done.updated == LATER


def test_fill_window_of_a_window_without_slots_succeeds_at_once():
    inside_the_hour = {"start": hour(0) + timedelta(minutes=1), "end": hour(0) + timedelta(minutes=59)}

    b, sent = bs.fill_window(backfill(cursor=inside_the_hour["start"], **inside_the_hour), NOW)

    assert sent == []
    assert b.cursor is None
    assert b.status == BackfillStatus.SUCCEEDED


@pytest.mark.parametrize("status", [BackfillStatus.SUCCEEDED, BackfillStatus.CANCELLED])
def test_fill_window_of_a_finished_backfill_sends_nothing(status):
    b, sent = bs.fill_window(backfill(status=status, cursor=hour(2)), NOW)

    assert sent == []
    assert b.status == status
    assert b.cursor == hour(2)


def test_fill_window_respects_the_trigger_timezone():
    b = backfill(
        cron="0 9 * * *",
        timezone="Europe/Paris",
        start=datetime(2024, 3, 30, tzinfo=UTC),
        cursor=datetime(2024, 3, 30, 8, tzinfo=UTC),
        end=datetime(2024, 4, 2, tzinfo=UTC),
        concurrency=5,
    )

    _, sent = bs.fill_window(b, NOW)

    assert sent == [
        datetime(2024, 3, 30, 8, tzinfo=UTC),
        datetime(2024, 3, 31, 7, tzinfo=UTC),
        datetime(2024, 4, 1, 7, tzinfo=UTC),
    ]


def test_fill_window_with_a_seconds_cron():
    b = backfill(cron="*/20 * * * * *", with_seconds=True, end=T0 + timedelta(minutes=1), concurrency=10)

    _, sent = bs.fill_window(b, NOW)

    assert sent == [T0 + timedelta(seconds=s) for s in (0, 20, 40, 60)]


# --- pause ------------------------------------------------------------------------------------------


def test_pause_sets_the_flag_and_stops_fill_window():
    paused = bs.pause(backfill(concurrency=3), LATER)

    b, sent = bs.fill_window(paused, LATER)

    assert paused.paused
    assert paused.updated == LATER
    assert sent == []
    assert b.cursor == T0
    assert b.dispatched == 0


def test_pause_keeps_in_flight_slots():
    paused = bs.pause(backfill(cursor=hour(2), inflight=inflight(h0=RUNNING, h1=DISPATCHED)), NOW)

    assert state_of(paused, hour(0)) == RUNNING
    assert state_of(paused, hour(1)) == DISPATCHED


# --- claim ------------------------------------------------------------------------------------------


def test_claim_turns_a_pending_slot_into_running():
    b, verdict = bs.claim(backfill(cursor=hour(1), inflight=inflight(h0=DISPATCHED)), hour(0), LATER)

    assert verdict == Claim.RUN
    assert state_of(b, hour(0)) == RUNNING
    assert b.inflight[storage_key(hour(0))].since == LATER
    assert b.updated == LATER


def test_claim_while_paused_parks_the_slot():
    b, verdict = bs.claim(backfill(paused=True, cursor=hour(1), inflight=inflight(h0=DISPATCHED)), hour(0), LATER)

    assert verdict == Claim.PARK
    assert state_of(b, hour(0)) == PARKED
    assert b.inflight[storage_key(hour(0))].since == LATER


def test_claim_of_an_unknown_slot_is_dropped():
    before = backfill(cursor=hour(1), inflight=inflight(h0=DISPATCHED))

    b, verdict = bs.claim(before, hour(3), LATER)

    assert verdict == Claim.DROP
    assert b == before


def test_claim_of_a_parked_slot_is_dropped_and_stays_parked():
    b, verdict = bs.claim(backfill(paused=True, cursor=hour(1), inflight=inflight(h0=PARKED)), hour(0), LATER)

    assert verdict == Claim.DROP
    assert state_of(b, hour(0)) == PARKED


@pytest.mark.parametrize(("paused", "expected"), [(False, Claim.RUN), (True, Claim.RESUME)])
def test_claim_of_a_running_slot_runs_again_without_changing_it(paused, expected):
    before = backfill(paused=paused, cursor=hour(1), inflight=inflight(h0=RUNNING))

    b, verdict = bs.claim(before, hour(0), LATER)

    assert verdict == expected
    assert b == before


def test_claim_of_a_slot_given_with_another_offset_finds_it():
    paris = timezone(timedelta(hours=1))
    b, verdict = bs.claim(
        backfill(cursor=hour(1), inflight=inflight(h0=DISPATCHED)), datetime(2024, 3, 28, 1, tzinfo=paris), NOW
    )

    assert verdict == Claim.RUN


# --- finish -----------------------------------------------------------------------------------------


def test_finish_counts_success_and_refills_the_window():
    b, sent = bs.finish(backfill(cursor=hour(1), inflight=inflight(h0=RUNNING), dispatched=1), hour(0), OK, LATER)

    assert b.succeeded == 1 and b.failed == 0
    assert sent == [hour(1)]
    assert b.cursor == hour(2)
    assert b.dispatched == 2
    assert state_of(b, hour(0)) is None
    assert state_of(b, hour(1)) == DISPATCHED
    assert b.updated == LATER


def test_finish_counts_failure():
    b, _ = bs.finish(backfill(cursor=hour(1), inflight=inflight(h0=RUNNING)), hour(0), FAIL, NOW)

    assert b.failed == 1 and b.succeeded == 0


def test_finish_of_the_same_slot_twice_counts_once():
    first, sent = bs.finish(backfill(cursor=hour(1), inflight=inflight(h0=RUNNING)), hour(0), OK, NOW)

    second, sent_again = bs.finish(first, hour(0), OK, LATER)

    assert second == first
    assert sent_again == []
    assert second.succeeded == 1
    assert second.dispatched == first.dispatched


def test_finish_of_an_unknown_slot_changes_nothing():
    before = backfill(cursor=hour(1), inflight=inflight(h0=RUNNING))

    after, sent = bs.finish(before, hour(4), FAIL, LATER)

    assert after == before
    assert sent == []


def test_finish_of_the_last_slot_succeeds_the_backfill():
    b, sent = bs.finish(backfill(cursor=None, inflight=inflight(h5=RUNNING), dispatched=6), hour(5), OK, LATER)

    assert sent == []
    assert b.status == BackfillStatus.SUCCEEDED
    assert b.updated == LATER


def test_finish_while_paused_does_not_refill():
    b, sent = bs.finish(backfill(paused=True, cursor=hour(1), inflight=inflight(h0=RUNNING)), hour(0), OK, NOW)

    assert sent == []
    assert b.cursor == hour(1)
    assert b.succeeded == 1


def test_finish_of_the_last_slot_while_paused_still_finishes_the_backfill():
    b, _ = bs.finish(backfill(paused=True, cursor=None, inflight=inflight(h5=RUNNING)), hour(5), OK, NOW)

    assert b.status == BackfillStatus.SUCCEEDED


def test_finish_after_cancel_counts_the_running_slot_but_dispatches_nothing():
    cancelled = bs.cancel(backfill(concurrency=2, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=DISPATCHED)), NOW)

    b, sent = bs.finish(cancelled, hour(0), OK, LATER)

    assert sent == []
    assert b.succeeded == 1
    assert b.inflight == {}
    assert b.status == BackfillStatus.CANCELLED


def test_a_whole_backfill_runs_every_slot_once_in_order_with_a_window():
    rng = random.Random(7)
    b, queue = bs.fill_window(backfill(concurrency=3), NOW)
    dispatched, max_in_flight = list(queue), len(queue)

    while queue:
        slot = queue.pop(rng.randrange(len(queue)))
        b, verdict = bs.claim(b, slot, NOW)
        assert verdict == Claim.RUN
        b, more = bs.finish(b, slot, OK if slot != hour(2) else FAIL, NOW)
        queue += more
        dispatched += more
        max_in_flight = max(max_in_flight, len(b.inflight))

    assert dispatched == ALL_SLOTS
    assert max_in_flight == 3
    assert (b.dispatched, b.succeeded, b.failed, b.cancelled) == (6, 5, 1, 0)
    assert b.status == BackfillStatus.FAILED  # every slot ran; one failed
    assert b.cursor is None and b.inflight == {}


# --- unpause ----------------------------------------------------------------------------------------


def test_unpause_sends_parked_slots_first_then_new_ones():
    b = backfill(concurrency=3, paused=True, cursor=hour(2), inflight=inflight(h1=PARKED, h0=PARKED), dispatched=2)

    b, sent = bs.unpause(b, LATER)

    assert sent == [hour(0), hour(1), hour(2)]
    assert not b.paused
    assert state_of(b, hour(0)) == DISPATCHED and state_of(b, hour(1)) == DISPATCHED
    assert b.inflight[storage_key(hour(0))].since == LATER
    assert b.cursor == hour(3)
    assert b.dispatched == 3  # parked slots were already counted when first dispatched


def test_change_pauses_before_widening_and_widens_before_unpausing():
    running = backfill(concurrency=1, cursor=hour(1), inflight=inflight(h0=DISPATCHED), dispatched=1)

    paused, sent = bs.change(running, LATER, concurrency=3, paused=True)
    assert paused.paused and paused.concurrency == 3 and sent == []  # a paused backfill sends nothing

    resumed, sent = bs.change(paused, LATER, concurrency=4, paused=False)
    assert not resumed.paused and resumed.concurrency == 4
    assert sent == [hour(1), hour(2), hour(3)]  # the whole new window beside the slot still in flight

    unchanged, sent = bs.change(resumed, LATER, paused=False)
    assert unchanged == resumed and sent == []  # resuming a running backfill keeps its failure count


def test_unpause_with_a_full_window_sends_only_parked_slots():
    b = backfill(concurrency=2, paused=True, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=PARKED))

    b, sent = bs.unpause(b, NOW)

    assert sent == [hour(1)]
    assert state_of(b, hour(0)) == RUNNING
    assert b.cursor == hour(2)


def test_unpause_does_not_resend_pending_slots():
    b = backfill(concurrency=2, paused=True, cursor=hour(2), inflight=inflight(h0=DISPATCHED, h1=PARKED))

    _, sent = bs.unpause(b, NOW)

    assert sent == [hour(1)]


def test_pause_then_unpause_through_claims():
    b, _ = bs.fill_window(backfill(concurrency=2), NOW)  # h0, h1 pending
    b, verdict0 = bs.claim(b, hour(0), NOW)
    b = bs.pause(b, NOW)
    b, verdict1 = bs.claim(b, hour(1), NOW)
    b, refill = bs.finish(b, hour(0), OK, NOW)

    b, sent = bs.unpause(b, LATER)

    assert (verdict0, verdict1, refill) == (Claim.RUN, Claim.PARK, [])
    assert sent == [hour(1), hour(2)]
    b, verdict = bs.claim(b, hour(1), LATER)
    assert verdict == Claim.RUN


def test_unpause_of_a_drained_backfill_finishes_it():
    b, sent = bs.unpause(backfill(paused=True, cursor=None), LATER)

    assert sent == []
    assert b.status == BackfillStatus.SUCCEEDED


# --- cancel -----------------------------------------------------------------------------------------


def test_cancel_removes_waiting_slots_counts_them_and_keeps_running_ones():
    b = backfill(concurrency=3, paused=True, cursor=hour(3), inflight=inflight(h0=RUNNING, h1=DISPATCHED, h2=PARKED))

    b = bs.cancel(b, LATER)

    assert b.status == BackfillStatus.CANCELLING  # until the running slot ends
    assert b.finished and not b.settled
    assert b.cancelled == 5  # h1 and h2 waited; h3 to h5 were never dispatched
    assert list(b.inflight) == [storage_key(hour(0))]
    assert state_of(b, hour(0)) == RUNNING
    assert b.cursor is None
    assert b.updated == LATER


def test_a_cancelling_backfill_is_cancelled_when_its_last_running_slot_ends():
    b = bs.cancel(backfill(concurrency=2, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=RUNNING)), NOW)
    b, sent = bs.finish(b, hour(0), OK, LATER)
    assert (b.status, sent) == (BackfillStatus.CANCELLING, [])
    b, sent = bs.finish(b, hour(1), FAIL, LATER)
    assert (b.status, sent, b.succeeded, b.failed) == (BackfillStatus.CANCELLED, [], 1, 1)
    assert b.settled


def test_cancel_with_nothing_running_is_cancelled_at_once():
    b = bs.cancel(backfill(cursor=hour(1), inflight=inflight(h0=DISPATCHED)), NOW)
    assert b.status == BackfillStatus.CANCELLED and b.inflight == {}


def test_cancel_stops_dispatch():
    b, sent = bs.fill_window(bs.cancel(backfill(concurrency=3), NOW), NOW)

    assert sent == []
    assert b.dispatched == 0


def test_cancelled_slot_messages_are_dropped():
    b = bs.cancel(backfill(cursor=hour(1), inflight=inflight(h0=DISPATCHED)), NOW)

    _, verdict = bs.claim(b, hour(0), LATER)

    assert verdict == Claim.DROP


# --- watchdog ---------------------------------------------------------------------------------------


def test_stale_slots_returns_only_old_pending_and_running_slots_and_refreshes_their_time():
    old, fresh = NOW - timedelta(minutes=10), NOW - timedelta(seconds=30)
    b = backfill(
        concurrency=4,
        cursor=hour(4),
        inflight={
            storage_key(hour(0)): InflightSlot(state=RUNNING, since=old),
            storage_key(hour(3)): InflightSlot(state=DISPATCHED, since=old),
            storage_key(hour(1)): InflightSlot(state=DISPATCHED, since=old),
            storage_key(hour(2)): InflightSlot(state=DISPATCHED, since=fresh),
        },
    )

    b, resend = bs.stale_slots(b, NOW, older_than_seconds=120)

    assert resend == [hour(0), hour(1), hour(3)]
    assert b.inflight[storage_key(hour(1))].since == NOW
    assert b.inflight[storage_key(hour(3))].since == NOW
    assert b.inflight[storage_key(hour(2))].since == fresh
    assert b.inflight[storage_key(hour(0))].since == NOW
    assert b.inflight[storage_key(hour(1))].state == DISPATCHED
    assert b.inflight[storage_key(hour(0))].state == RUNNING


def test_stale_slots_ignores_parked_slots():
    b = backfill(
        cursor=hour(1),
        inflight={storage_key(hour(0)): InflightSlot(state=PARKED, since=NOW - timedelta(days=1))},
    )

    _, resend = bs.stale_slots(b, NOW, 60)

    assert resend == []


def test_stale_slots_refreshed_are_not_resent_at_once():
    b = backfill(
        cursor=hour(1),
        inflight={storage_key(hour(0)): InflightSlot(state=DISPATCHED, since=NOW - timedelta(hours=1))},
    )

    b, first = bs.stale_slots(b, NOW, 60)
    _, second = bs.stale_slots(b, NOW + timedelta(seconds=10), 60)

    assert first == [hour(0)]
    assert second == []


@pytest.mark.parametrize("changes", [{"paused": True}, {"status": BackfillStatus.CANCELLED}])
def test_stale_slots_of_a_paused_or_finished_backfill_sends_only_running_ones(changes):
    b = backfill(
        cursor=hour(2),
        inflight={
            storage_key(hour(0)): InflightSlot(state=DISPATCHED, since=NOW - timedelta(hours=1)),
            storage_key(hour(1)): InflightSlot(state=RUNNING, since=NOW - timedelta(hours=1)),
        },
        **changes,
    )

    _, resend = bs.stale_slots(b, NOW, 60)

    assert resend == [hour(1)]


# --- a claimed slot whose execution never started, after pause or cancel ----------------------------


@pytest.mark.parametrize("changes", [{"paused": True}, {"status": BackfillStatus.CANCELLED}])
def test_a_running_slot_of_a_paused_or_cancelled_backfill_may_only_be_resumed(changes):
    b = backfill(cursor=hour(1), inflight={storage_key(hour(0)): InflightSlot(state=RUNNING, since=NOW)}, **changes)

    _, decision = bs.claim(b, hour(0), NOW)

    assert decision == bs.Claim.RESUME


def test_release_parks_a_claimed_slot_while_paused():
    b = backfill(cursor=hour(1), paused=True, inflight={storage_key(hour(0)): InflightSlot(state=RUNNING, since=NOW)})

    released = bs.release(b, hour(0), NOW)

    assert released.inflight[storage_key(hour(0))].state == PARKED
    assert released.cancelled == 0


def test_release_cancels_a_claimed_slot_once_cancelled_and_counts_it_once():
    b = backfill(
        cursor=None,
        status=BackfillStatus.CANCELLED,
        inflight={storage_key(hour(0)): InflightSlot(state=RUNNING, since=NOW)},
    )

    released = bs.release(b, hour(0), NOW)
    again = bs.release(released, hour(0), NOW)

    assert released.inflight == {} and released.cancelled == 1
    assert again.cancelled == 1


def test_release_of_a_running_backfill_changes_nothing():
    b = backfill(cursor=hour(1), inflight={storage_key(hour(0)): InflightSlot(state=RUNNING, since=NOW)})

    assert bs.release(b, hour(0), NOW) == b


@pytest.mark.parametrize("status", [BackfillStatus.SUCCEEDED, BackfillStatus.CANCELLED])
def test_controls_leave_a_finished_backfill_as_it_is(status):
    b = backfill(cursor=None, status=status)

    assert bs.pause(b, NOW) == b
    assert bs.unpause(b, NOW) == (b, [])
    assert bs.cancel(b, NOW) == b


# --- current_date -----------------------------------------------------------------------------------


def test_current_date_is_the_cursor_before_anything_is_dispatched():
    assert bs.current_date(backfill()) == T0


def test_current_date_is_the_oldest_slot_not_started():
    b = backfill(concurrency=4, cursor=hour(4), inflight=inflight(h0=RUNNING, h1=RUNNING, h3=DISPATCHED, h2=PARKED))

    assert bs.current_date(b) == hour(2)


def test_current_date_skips_running_slots_to_the_cursor():
    assert bs.current_date(backfill(cursor=hour(2), inflight=inflight(h0=RUNNING, h1=RUNNING))) == hour(2)


def test_current_date_is_none_when_everything_has_started():
    assert bs.current_date(backfill(cursor=None, inflight=inflight(h5=RUNNING))) is None
    assert bs.current_date(backfill(cursor=None)) is None


# --- purity -----------------------------------------------------------------------------------------


def busy_backfill() -> Backfill:
    return backfill(
        concurrency=4, cursor=hour(3), inflight=inflight(h0=RUNNING, h1=DISPATCHED, h2=PARKED), dispatched=3
    )


TRANSITIONS = {
    "fill_window": lambda b: bs.fill_window(b, LATER),
    "claim pending": lambda b: bs.claim(b, hour(1), LATER),
    "claim paused": lambda b: bs.claim(bs.pause(b, NOW), hour(1), LATER),
    "claim on paused input": lambda b: bs.claim(b.model_copy(update={"paused": True}), hour(1), LATER),
    "finish": lambda b: bs.finish(b, hour(0), OK, LATER),
    "pause": lambda b: bs.pause(b, LATER),
    "unpause": lambda b: bs.unpause(b, LATER),
    "cancel": lambda b: bs.cancel(b, LATER),
    "stale_pending": lambda b: bs.stale_slots(b, LATER + timedelta(days=1), 1),
    "current_date": lambda b: bs.current_date(b),
}


@pytest.mark.parametrize("name", TRANSITIONS)
def test_transitions_never_mutate_their_input(name):
    original = busy_backfill()
    snapshot = original.model_dump()

    TRANSITIONS[name](original)

    assert original.model_dump() == snapshot


@pytest.mark.parametrize("name", ["fill_window", "claim pending", "finish", "unpause", "cancel", "stale_pending"])
def test_transitions_return_a_new_record_that_does_not_share_in_flight_slots(name):
    original = busy_backfill()

    result = TRANSITIONS[name](original)
    changed = result[0] if isinstance(result, tuple) else result

    assert changed is not original
    assert changed.inflight is not original.inflight
    for key, entry in changed.inflight.items():
        assert entry is not original.inflight.get(key)


# --- failure policy, retry-failed, statuses and slot views -----------------------------------------


def test_max_failures_pauses_the_backfill_and_says_why():
    b = backfill(concurrency=2, max_failures=2, cursor=hour(2), inflight=inflight(h0=RUNNING, h1=RUNNING))
    b, sent = bs.finish(b, hour(0), FAIL, NOW)
    assert not b.paused and sent == [hour(2)]
    b, sent = bs.finish(b, hour(1), FAIL, NOW)
    assert b.paused and sent == []
    assert "maxFailures: 2 slots failed" in b.pause_reason
    assert bs.display_status(b) == "PAUSED"


def test_after_unpause_the_failure_policy_counts_only_new_failures():
    b = backfill(max_failures=2, failed=2, paused=True, pause_reason="maxFailures", cursor=hour(3))
    b, sent = bs.unpause(b, NOW)
    assert (b.paused, b.pause_reason, b.failures_seen, sent) == (False, None, 2, [hour(3)])
    b, _ = bs.claim(b, hour(3), NOW)
    b, _ = bs.finish(b, hour(3), FAIL, NOW)
    assert not b.paused  # one new failure, the limit is two


def test_retry_failed_reopens_an_ended_backfill_with_a_new_round_first():
    ended = backfill(cursor=None, status=BackfillStatus.FAILED, succeeded=4, failed=2, dispatched=6)
    keys = [storage_key(hour(1)), storage_key(hour(4))]

    b, sent = bs.retry_failed(ended, keys, NOW)

    assert (b.status, b.round, b.failed, sent) == (BackfillStatus.RUNNING, 1, 0, [hour(1)])
    assert b.inflight[storage_key(hour(1))].round == 1 and b.retry == [storage_key(hour(4))]
    assert bs.slot_view(b, hour(4), None) == ("PENDING", 1)
    assert bs.claim(b, hour(1), NOW) == (b, Claim.DROP)  # a late copy of round 0's message
    for slot in (hour(1), hour(4)):
        b, verdict = bs.claim(b, slot, NOW, 1)
        assert verdict == Claim.RUN
        assert bs.finish(b, slot, FAIL, NOW) == (b, [])  # round 0's late end does not end round 1
        b, sent = bs.finish(b, slot, OK, NOW, 1)
    assert (b.status, b.succeeded, b.failed) == (BackfillStatus.SUCCEEDED, 6, 0)


def test_retry_failed_resumes_a_backfill_its_failure_policy_paused_but_not_one_a_person_paused():
    keys = [storage_key(hour(0))]
    by_policy = backfill(paused=True, pause_reason="maxFailures", failed=1, cursor=hour(1))
    b, sent = bs.retry_failed(by_policy, keys, NOW)
    assert not b.paused and sent == [hour(0)]
    by_person = backfill(paused=True, failed=1, cursor=hour(1))
    b, sent = bs.retry_failed(by_person, keys, NOW)
    assert b.paused and sent == [] and b.retry == keys


def test_retry_failed_does_nothing_for_a_cancelled_backfill():
    b = backfill(status=BackfillStatus.CANCELLED, cursor=None, failed=1)
    assert bs.retry_failed(b, [storage_key(hour(0))], NOW) == (b, [])


def test_a_new_backfill_is_queued_until_an_executor_picks_up_a_slot():
    b, _ = bs.fill_window(backfill(concurrency=2), NOW)
    assert bs.display_status(b) == "QUEUED"
    b, _ = bs.claim(b, hour(0), NOW)
    assert bs.display_status(b) == "RUNNING"


def test_slot_view_covers_every_state_of_a_slot():
    from backfill_core.backfills.model import SlotRecord

    b = backfill(cursor=hour(3), inflight=inflight(h1=RUNNING, h2=PARKED))
    done = SlotRecord(backfill_id="bf-1", date=hour(0), state=SlotOutcome.SKIPPED, reason="x")
    assert bs.slot_view(b, hour(0), done) == ("SKIPPED", 0)
    assert bs.slot_view(b, hour(1), None) == ("RUNNING", 0)
    assert bs.slot_view(b, hour(2), None) == ("PARKED", 0)
    assert bs.slot_view(b, hour(4), None) == ("PENDING", 0)
    cancelled = bs.cancel(b, NOW)
    assert bs.slot_view(cancelled, hour(2), None) == ("CANCELLED", 0)
    assert bs.slot_view(cancelled, hour(4), None) == ("CANCELLED", 0)
    newest_first = backfill(order="newest_first", cursor=hour(3))
    assert bs.slot_view(newest_first, hour(2), None) == ("PENDING", 0)
    assert bs.slot_view(newest_first, hour(5), None) == ("CANCELLED", 0)  # passed with no record


def test_cancel_keeps_failed_slots_queued_for_retry_failed():
    b = backfill(cursor=None, failed=2, status=BackfillStatus.FAILED, succeeded=4, dispatched=6)
    b, _ = bs.retry_failed(b, [storage_key(hour(1)), storage_key(hour(3))], NOW)
    b, _ = bs.claim(b, hour(1), NOW, 1)
    b = bs.cancel(b, LATER)
    assert (b.failed, b.cancelled, b.retry, list(b.inflight)) == (1, 0, [], [storage_key(hour(1))])
    b, _ = bs.finish(b, hour(1), OK, LATER, 1)
    assert (b.status, b.succeeded + b.failed + b.cancelled) == (BackfillStatus.CANCELLED, 6)


def test_cancel_keeps_a_dispatched_retry_failed():
    b = backfill(cursor=None, failed=1, status=BackfillStatus.FAILED, succeeded=5, dispatched=6)
    b, sent = bs.retry_failed(b, [storage_key(hour(2))], NOW)
    assert sent == [hour(2)]
    b = bs.cancel(b, LATER)
    assert (b.status, b.failed, b.cancelled, b.succeeded) == (BackfillStatus.CANCELLED, 1, 0, 5)
