"""An executor that dies in the middle of a slot loses no slot and creates no second execution."""

import json
import time

import pytest

from backfill_core.backfills import slots as backfill_slots
from backfill_core.flows import task_run as task_run_module
from backfill_core.triggers.model import TriggerKey
from tests.flows import backfill_body, ref
from tests.harness import ExecutorDied, run_kind

ONE_SLOT = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
TWO_SLOTS = ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")


def die_in_task(monkeypatch, times: int):
    real = task_run_module.run_task
    calls = {"n": 0}

    def run_task(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise ExecutorDied()
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", run_task)
    return calls


def receive_after_crash(stack):
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    time.sleep(1.2)  # the message comes back after the visibility timeout, the lease has run out


def test_a_crash_mid_slot_is_resumed_as_the_same_execution(crashable, monkeypatch):
    stack = crashable
    die_in_task(monkeypatch, times=1)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT)).status == 200
    receive_after_crash(stack)

    (running,) = stack.executions(namespace="tests")
    assert running["state"]["current"] == "RUNNING"
    assert running["attempt"] == 1

    stack.drain()
    (done,) = stack.executions(namespace="tests")
    assert done["id"] == running["id"]
    assert done["state"]["current"] == "SUCCESS"
    assert done["attempt"] == 2
    assert [h["state"] for h in done["state"]["histories"]] == ["CREATED", "RUNNING", "RUNNING", "SUCCESS"]
    logs = stack.call("GET", f"/api/v1/logs/{done['id']}").body
    assert [(line["attemptNumber"], line["message"]) for line in logs] == [
        (2, "slot 2024-01-01T00:00:00Z of tests.quick")
    ]
    assert stack.queue_depth() == 0
    assert stack.queue_depth(stack.dlq_url) == 0


def test_an_execution_whose_executor_always_dies_fails_once_retries_are_spent(crashable, monkeypatch):
    stack = crashable
    die_in_task(monkeypatch, times=3)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)).status == 200
    for _ in range(3):
        receive_after_crash(stack)
    stack.drain()

    executions = {e["trigger"]["variables"]["date"]: e for e in stack.executions(namespace="tests")}
    assert len(executions) == 2
    failed = executions["2024-01-01T00:00:00Z"]
    assert failed["state"]["current"] == "FAILED"
    assert failed["attempt"] == 3
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{failed['id']}").body]
    assert any("stopped during each of 3 attempts" in m for m in logs)
    # The backfill carries on to the next slot after the failure.
    assert executions["2024-01-01T01:00:00Z"]["state"]["current"] == "SUCCESS"
    assert stack.queue_depth() == 0


def test_a_crash_after_the_execution_is_final_counts_the_slot_once(crashable, monkeypatch):
    """Dies after the execution's final write, before the backfill record hears of it."""
    stack = crashable
    from backfill_core.slots import runner as slot_runner

    real_finish = backfill_slots.finish_slot
    calls = {"n": 0}

    def finish_slot(message, succeeded, known=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ExecutorDied()
        return real_finish(message, succeeded, known)

    monkeypatch.setattr(slot_runner.backfill_slots, "finish_slot", finish_slot)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)).status == 200
    receive_after_crash(stack)
    stack.drain()
    executions = stack.executions(namespace="tests")
    assert sorted(e["trigger"]["variables"]["date"] for e in executions) == [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
    ]
    assert all(e["attempt"] == 1 and e["state"]["current"] == "SUCCESS" for e in executions)


def test_a_lost_message_is_sent_again_by_the_watchdog(crashable, monkeypatch, set_setting):
    """Dies between the cursor write and SendMessageBatch: the slot is DISPATCHED with no message."""
    stack = crashable
    from backfill_core.storage import work_queue

    set_setting("SLOT_RESEND_SECONDS", "0")
    real_send = work_queue.send
    monkeypatch.setattr(work_queue, "send", lambda messages: None)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)).status == 200
    assert stack.queue_depth() == 0
    monkeypatch.setattr(work_queue, "send", real_send)

    from local.lambda_runtime import LambdaContext

    answer = stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))
    assert answer["resentSlots"] == 1
    stack.drain()
    assert len(stack.executions(namespace="tests")) == 2


def test_a_failed_send_still_answers_200_and_the_watchdog_sends_the_slot(crashable, monkeypatch, set_setting):
    stack = crashable
    from backfill_core.storage import work_queue
    from local.lambda_runtime import LambdaContext

    def refuse(messages):
        raise work_queue.SendFailed("SQS is having a bad day")

    set_setting("SLOT_RESEND_SECONDS", "0")
    real_send = work_queue.send
    monkeypatch.setattr(work_queue, "send", refuse)
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS))
    assert answer.status == 200, answer.raw
    assert answer.body["backfill"]["dispatched"] == 1
    assert stack.queue_depth() == 0
    monkeypatch.setattr(work_queue, "send", real_send)
    assert stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))["resentSlots"] == 1
    stack.drain()
    assert len(stack.executions(namespace="tests", state="SUCCESS")) == 2


def receive_until_gone(stack, receives: int = 7) -> None:
    """Poll past maxReceiveCount (5); moto moves a message to the DLQ on the receive after its last."""
    for _ in range(receives):
        stack.poller().poll_once()
        time.sleep(1.1)


def test_a_backfill_slot_failing_on_every_receive_stays_out_of_the_dlq_and_the_watchdog_runs_it(
    crashable, monkeypatch, capsys, set_setting
):
    """The defect: such a message was dead-lettered although the watchdog recovers its slot, so the DLQ filled
    with recovered slots and its depth could not be alarmed on. DynamoDB throttles the executor on every receive;
    the message is let go on its last, the DLQ stays empty, and the slot still runs once."""
    stack = crashable
    from botocore.exceptions import ClientError

    from backfill_core.slots import runner as slot_runner
    from local.lambda_runtime import LambdaContext

    def throttled(execution):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutItem")

    real_create = slot_runner.executions_repository.create_if_absent
    monkeypatch.setattr(slot_runner.executions_repository, "create_if_absent", throttled)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT)).status == 200
    receive_until_gone(stack)
    assert stack.queue_depth() == 0
    assert stack.queue_depth(stack.dlq_url) == 0
    # ...but it is counted, for the alarm that replaces the DLQ's for such a slot (an EMF line on stdout).
    let_go = [line for line in capsys.readouterr().out.splitlines() if '"SlotMessagesLetGo"' in line]
    assert len(let_go) == 1 and json.loads(let_go[0])["SlotMessagesLetGo"] == [1.0]
    monkeypatch.setattr(slot_runner.executions_repository, "create_if_absent", real_create)

    set_setting("SLOT_RESEND_SECONDS", "0")
    assert stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))["resentSlots"] == 1
    stack.drain()
    (execution,) = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "SUCCESS"
    trigger = stack.call("GET", "/api/v1/triggers/search?namespace=tests").body["results"][0]["triggerContext"]
    assert trigger.get("backfill") is None  # finished, so the trigger is free for the next backfill


def test_a_live_schedule_slot_failing_on_every_receive_is_dead_lettered_for_a_person(crashable, monkeypatch):
    """No watchdog covers a live slot: its message goes to the DLQ (and its alarm), and a redrive runs it once."""
    stack = crashable
    from botocore.exceptions import ClientError

    from backfill_core.slots import runner as slot_runner

    def throttled(execution):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutItem")

    real_create = slot_runner.executions_repository.create_if_absent
    monkeypatch.setattr(slot_runner.executions_repository, "create_if_absent", throttled)
    live = {"kind": "schedule", "tenant": "main", "namespace": "tests", "flowId": "quick", "triggerId": "every_hour"}
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps({**live, "date": ONE_SLOT[0]}))
    receive_until_gone(stack)
    assert stack.queue_depth() == 0
    (dead,) = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10)["Messages"]
    monkeypatch.setattr(slot_runner.executions_repository, "create_if_absent", real_create)

    for _ in range(2):  # redriven twice by a careless person: still one execution
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=dead["Body"])
    stack.drain()
    (execution,) = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "SUCCESS" and run_kind(execution) == "schedule"


@pytest.mark.parametrize(("method", "action"), [("POST", "delete"), ("PUT", "pause")])
def test_a_slot_claimed_before_pause_or_delete_does_not_start_after_it(crashable, monkeypatch, method, action):
    """The executor dies right after claiming the slot; pause/delete answers; the redelivery runs nothing."""
    stack = crashable
    from backfill_core.slots import runner as slot_runner

    real_find = slot_runner.flows_repository.find

    def die(*args):
        raise ExecutorDied()

    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)).status == 200
    monkeypatch.setattr(slot_runner.flows_repository, "find", die)
    receive_after_crash(stack)
    monkeypatch.setattr(slot_runner.flows_repository, "find", real_find)
    assert stack.call(method, f"/api/v1/triggers/backfill/{action}", ref("quick")).status == 200
    stack.drain()
    assert stack.executions(namespace="tests") == []
    if action == "pause":
        # The slot was given back as parked: unpause runs it, then the rest.
        assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
        stack.drain()
        assert len(stack.executions(namespace="tests", state="SUCCESS")) == 2


def test_delete_of_a_backfill_that_just_finished_is_no_backfill_found(crashable, monkeypatch):
    stack = crashable
    from backfill_core.backfills import commands
    from backfill_core.storage import triggers_repository

    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *ONE_SLOT))
    backfill_id = answer.body["backfill"]["id"]
    key = TriggerKey("main", "tests", "quick", "every_hour")
    as_read = triggers_repository.get_backfill(key, backfill_id)
    stack.drain()
    # The API read the trigger's running backfills just before the last slot finished.
    monkeypatch.setattr(commands, "running_backfills_of", lambda key: [as_read])
    for method, action in (("POST", "delete"), ("PUT", "pause"), ("PUT", "unpause")):
        answer = stack.call(method, f"/api/v1/triggers/backfill/{action}", ref("quick"))
        assert (answer.status, answer.message) == (400, "No backfill found")
    assert triggers_repository.get_backfill(key, backfill_id).status == "SUCCEEDED"
