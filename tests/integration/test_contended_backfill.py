"""A slot whose claim gives up (its backfill changed by people faster than it could decide) comes back in
seconds, not after the queue's visibility timeout, and then runs once."""

from backfill_core.backfills import progress
from backfill_core.backfills import slots as backfill_slots
from backfill_core.errors import BackfillContended
from backfill_core.storage import backfill_progress
from local.lambda_runtime import LambdaContext
from tests.flows import QUICK, backfill_body

ONE_SLOT = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")


def test_a_contended_slot_comes_back_at_once_and_runs_once(stack, monkeypatch):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT)).body["backfill"]["id"]
    monkeypatch.setattr(stack.executor_module, "CONTENDED_RETRY_SECONDS", (0, 0))
    real_claim = backfill_slots.claim_slot

    def always_loses(message):
        raise BackfillContended("the backfill is changing too fast to claim a slot; retry")

    monkeypatch.setattr(backfill_slots, "claim_slot", always_loses)
    poller = stack.poller()
    assert poller.poll_once() == 1  # the claim gives up: the record is reported failed

    monkeypatch.setattr(backfill_slots, "claim_slot", real_claim)
    # Visible again at once (the queue's own visibility timeout is 720 s): the next poll runs it.
    assert poller.poll_once() == 1
    assert stack.backfill(backfill_id)["status"] == "SUCCEEDED"
    assert [e["state"]["current"] for e in stack.executions(namespace="tests")] == ["SUCCESS"]


def test_a_cancel_lands_while_executors_move_the_cursor_and_every_slot_is_counted_once(stack, monkeypatch):
    """Was: a cancel expected the cursor and every sent slot's lane unchanged, so on a busy backfill it lost to the
    executors on each try and answered 409 after 20 s (bench.dispatch_cost at concurrency 50). Here the executors
    run two slots between the cancel's read and its write: the write still lands, and the slots never sent, the
    sent ones (cancelled by their own claim) and the ones that ran add up to the backfill's total."""
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T09:00:00Z", concurrency=2)
    backfill_id = stack.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    poller = stack.poller()
    real_change = backfill_progress.change
    tries = []

    def executors_move_first(backfill_id, wanted, now):
        if not tries:
            assert poller.poll_once() == 2  # two slots run and their lanes take the next two: the cursor moves
        tries.append(wanted)
        return real_change(backfill_id, wanted, now)

    monkeypatch.setattr(backfill_progress, "change", executors_move_first)
    cancelled = stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel", {})
    assert cancelled.status == 200 and cancelled.body["status"] == "CANCELLING"
    assert len(tries) == 2  # the first try, which called off the sent slots too, lost to the executors
    assert tries[1].lanes == {} and "cursor" not in tries[1].expect  # the second expected nothing they move
    stack.drain()
    ended = stack.backfill(backfill_id)
    assert ended["status"] == "CANCELLED"
    assert (ended["succeeded"], ended["cancelled"]) == (2, 8)  # 10 slots: 2 ran, 2 sent then cancelled, 6 never sent
    assert len(stack.executions(namespace="tests")) == 2


def lanes_above_a_lowered_window(stack, monkeypatch) -> tuple[str, dict]:
    """A backfill of 10 slots at concurrency 3 whose three slots ran and have not yet been counted; then paused,
    lane 0's slot counted (it takes nothing), the window lowered to 1 and unpaused: lanes 1 and 2 still run above
    it and lane 0 is idle. Returns the backfill's id and each lane's pending `finish_slot` arguments."""
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T09:00:00Z", concurrency=3)
    backfill_id = stack.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    ending = {}
    with monkeypatch.context() as held_back:
        held_back.setattr(backfill_slots, "finish_slot", lambda m, o, k=None: ending.setdefault(m.lane, (m, o, k)))
        assert stack.poller().poll_once() == 3
    assert stack.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"paused": True}).status == 200
    backfill_slots.finish_slot(*ending[0])
    assert stack.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"concurrency": 1}).status == 200
    unpaused = stack.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"paused": False})
    assert unpaused.status == 200 and unpaused.body["counts"]["RUNNING"] == 2  # no place is free: nothing sent
    assert stack.queue_depth() == 0
    return backfill_id, ending


def assert_each_slot_ran_once(stack, backfill_id: str) -> None:
    stack.drain()
    ended = stack.backfill(backfill_id)
    assert (ended["status"], ended["succeeded"]) == ("SUCCEEDED", 10), ended
    executions = stack.executions(namespace="tests")
    assert len(executions) == len({e["trigger"]["variables"]["date"] for e in executions}) == 10


def test_slots_running_above_a_lowered_window_hand_their_place_to_the_idle_lanes_below_it(stack, monkeypatch):
    """Was: paused, a slot ended and its lane 0 went idle; the window was lowered to 1 while lanes 1 and 2 still ran,
    so the unpause found no free place; lanes 1 and 2 then ended above the window and went idle too, and the backfill
    stayed RUNNING with nothing in flight for ever (the race suite, seed 3722799787). Now the last slot to end above
    the window passes its place to lane 0, and every slot runs once."""
    backfill_id, ending = lanes_above_a_lowered_window(stack, monkeypatch)
    backfill_slots.finish_slot(*ending[1])  # lane 2 still runs: the window of 1 is full, lane 1 takes nothing
    assert stack.queue_depth() == 0
    backfill_slots.finish_slot(*ending[2])  # the window has room: lane 2's place goes to lane 0
    assert stack.queue_depth() == 1
    assert stack.backfill(backfill_id)["counts"]["DISPATCHED"] == 1
    assert_each_slot_ran_once(stack, backfill_id)


def test_two_slots_ending_above_a_lowered_window_at_once_do_not_both_leave_it_idle(stack, monkeypatch):
    """Each of lanes 1 and 2 decides from a view where the other still runs, so each would go idle; the write pins
    how many lanes hold a slot, so the later one decides again and hands its place to lane 0."""
    backfill_id, ending = lanes_above_a_lowered_window(stack, monkeypatch)
    real_end = backfill_progress.end_slot
    writes = []

    def lane_2_ends_first(backfill_id, slot, counter, then, now, **premises):
        writes.append((slot.lane, then, premises.get("why"), premises.get("successor")))
        if slot.lane == 1 and then == "IDLE" and len(writes) < 4:
            with monkeypatch.context() as unhooked:
                unhooked.setattr(backfill_progress, "end_slot", real_end)
                backfill_slots.finish_slot(*ending[2])  # decided from the same view: the window is full, it idles
        return real_end(backfill_id, slot, counter, then, now, **premises)

    monkeypatch.setattr(backfill_progress, "end_slot", lane_2_ends_first)
    backfill_slots.finish_slot(*ending[1])
    assert writes[-1] == (1, "CURSOR", None, 0)  # lane 1's idle write lost to lane 2's: it hands its place down
    assert stack.queue_depth() == 1
    monkeypatch.setattr(backfill_progress, "end_slot", real_end)
    assert_each_slot_ran_once(stack, backfill_id)


def test_the_watchdog_fills_free_places_no_lane_holds(stack, monkeypatch):
    """A net under the rule above: were a backfill ever left RUNNING with free places and nothing in flight, the
    watchdog's next pass sends slots into them."""
    backfill_id, ending = lanes_above_a_lowered_window(stack, monkeypatch)
    with monkeypatch.context() as without_hand_down:
        for module in (progress, backfill_slots):
            without_hand_down.setattr(module, "successor_lane", lambda progress, lane: None)
        backfill_slots.finish_slot(*ending[1])
        backfill_slots.finish_slot(*ending[2])
    stalled = stack.backfill(backfill_id)
    assert stalled["status"] == "RUNNING" and stalled["succeeded"] == 3 and stack.queue_depth() == 0
    stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))
    assert stack.queue_depth() == 1
    assert_each_slot_ran_once(stack, backfill_id)
