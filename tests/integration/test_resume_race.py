"""A slot claimed, then its executor died before creating the execution; the backfill was paused, so the
redelivery means to give the slot back, but an unpause lands first. Found reviewing the paths the chaos
races drive: the slot stayed RUNNING with no execution and no message, and the backfill waited for the
watchdog (15 minutes)."""

import time

import pytest

from backfill_core.slots import runner as slot_runner
from tests.flows import backfill_body, ref
from tests.harness import ExecutorDied


def test_an_unpause_between_the_resume_and_the_give_back_runs_the_slot(crashable, monkeypatch):
    stack = crashable
    real_find, real_get = slot_runner.flows_repository.find, slot_runner.executions_repository.get

    def die(*args):
        raise ExecutorDied()

    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *(["2024-01-01T00:00:00Z"] * 2)))
    backfill_id = backfill_id.body["backfill"]["id"]
    monkeypatch.setattr(slot_runner.flows_repository, "find", die)
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()  # claimed (RUNNING), no execution yet
    monkeypatch.setattr(slot_runner.flows_repository, "find", real_find)
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
    time.sleep(1.2)  # the message comes back after the visibility timeout

    def unpause_first(execution_id):
        monkeypatch.setattr(slot_runner.executions_repository, "get", real_get)
        assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
        return real_get(execution_id)

    monkeypatch.setattr(slot_runner.executions_repository, "get", unpause_first)
    stack.drain()
    assert stack.backfill(backfill_id)["status"] == "SUCCEEDED"
    [execution] = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "SUCCESS"
