"""A slot whose claim gives up (its backfill changed by people faster than it could decide) comes back in
seconds, not after the queue's visibility timeout, and then runs once."""

from backfill_core.backfills import slots as backfill_slots
from backfill_core.errors import BackfillContended
from backfill_core.storage import backfill_progress
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
