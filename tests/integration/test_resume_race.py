"""A slot claimed, then its executor died before creating the execution; the backfill was paused, so the
redelivery means to give the slot back, but an unpause lands first. Found reviewing the paths the chaos
races drive: the slot stayed RUNNING with no execution and no message, and the backfill waited for the
watchdog (15 minutes)."""

import time

import pytest

from backfill_core import slot_runner
from tests.flows import QUICK, backfill_body, ref


class ExecutorDied(BaseException):
    """Stands for the Lambda environment being killed."""


@pytest.fixture
def crashable(stack, monkeypatch):
    monkeypatch.setenv("EXECUTION_LEASE_SECONDS", "1")
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "1"})
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


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
