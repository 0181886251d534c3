"""A slot whose claim gives up under contention on its backfill record (many executors writing it at once)
comes back in seconds, not after the queue's visibility timeout, and then runs once."""

import pytest

from backfill_core.backfills import changes
from backfill_core.errors import ConcurrentUpdate
from backfill_core.storage import triggers_repository
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


def test_a_lost_write_says_what_won_so_the_retry_reads_nothing(stack, monkeypatch):
    """Was: each lost write of a contended backfill was followed by a read of the record (about 2.5 reads a
    slot at concurrency 10 in bench.aws_like). Now DynamoDB's answer to the lost write carries the record."""
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT)).body["backfill"]["id"]
    record = triggers_repository.backfill_by_id(backfill_id)
    assert record is not None
    won = triggers_repository.save_backfill(record.model_copy(update={"concurrency": 3}), record)

    with pytest.raises(ConcurrentUpdate) as lost:
        triggers_repository.save_backfill(record.model_copy(update={"concurrency": 2}), record)
    assert lost.value.current == won

    reads: list[str] = []
    monkeypatch.setattr(
        changes.triggers_repository, "get_backfill", lambda key, backfill_id: reads.append(backfill_id) or record
    )
    changed = changes.change(
        record.trigger_key, backfill_id, lambda b, at: (b.model_copy(update={"concurrency": 4}), [])
    )
    assert changed is not None and changed.concurrency == 4 and changed.version == won.version + 1
    assert reads == [backfill_id]  # the stale read once; the retry started from what the lost write found
