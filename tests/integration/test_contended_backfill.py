"""A slot whose claim gives up (its backfill changed by people faster than it could decide) comes back in
seconds, not after the queue's visibility timeout, and then runs once."""

from backfill_core.backfills import slots as backfill_slots
from backfill_core.errors import BackfillContended
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
