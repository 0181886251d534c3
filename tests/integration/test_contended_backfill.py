"""A slot whose claim gives up under contention on its backfill record (many executors writing it at once)
comes back in seconds, not after the queue's visibility timeout, and then runs once."""

from backfill_core.backfills import changes
from backfill_core.errors import ConcurrentUpdate
from tests.flows import QUICK, backfill_body

ONE_SLOT = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")


def test_a_contended_slot_comes_back_at_once_and_runs_once(stack, monkeypatch):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT)).body["backfill"]["id"]
    monkeypatch.setattr(stack.executor_module, "CONTENDED_RETRY_SECONDS", (0, 0))
    real_save = changes.triggers_repository.save_backfill

    def always_loses(updated, current, seen):
        raise ConcurrentUpdate("another writer got there first")

    monkeypatch.setattr(changes.triggers_repository, "save_backfill", always_loses)
    monkeypatch.setattr(changes, "CHANGE_SECONDS", 0.0)
    monkeypatch.setattr(changes.time, "sleep", lambda seconds: None)
    poller = stack.poller()
    assert poller.poll_once() == 1  # the claim gives up: the record is reported failed

    monkeypatch.setattr(changes.triggers_repository, "save_backfill", real_save)
    # Visible again at once (the queue's own visibility timeout is 720 s): the next poll runs it.
    assert poller.poll_once() == 1
    assert stack.backfill(backfill_id)["status"] == "SUCCEEDED"
    assert [e["state"]["current"] for e in stack.executions(namespace="tests")] == ["SUCCESS"]
