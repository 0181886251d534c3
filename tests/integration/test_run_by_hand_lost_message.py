"""The defect: a run by hand (and a replay, a restart, a Subflow's child its parent does not wait for) was written
CREATED, then its message sent to the work queue; an API function that died between the two, or a send that
failed, left it CREATED for ever. Now the scheduler's watchdog queues again what no executor took by its due date,
and the run still runs exactly once; a duplicate message never runs it twice."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from backfill_core.errors import SlotBusy
from backfill_core.flows import task_run as task_run_module
from backfill_core.slots import by_id
from backfill_core.slots.concurrency import WAIT_GRACE_SECONDS
from backfill_core.slots.execution_messages import requeue_overdue
from backfill_core.slots.message import ExecutionMessage
from backfill_core.storage import concurrency_repository, work_queue
from local.lambda_runtime import LambdaContext
from tests.harness import ExecutorDied
from tests.integration.test_execution_routes import restartable
from tests.integration.test_subflows import CHILD, backfill, fetched, parent

BY_HAND = """
id: by_hand
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "ran {{ execution.id }}"
"""


@pytest.fixture
def by_hand(stack):
    assert stack.call("POST", "/api/v1/flows", BY_HAND, "application/x-yaml").status == 200
    return stack


def fails_once(monkeypatch, name: str, error: BaseException) -> None:
    """The next call of work_queue.<name> raises `error` (the API function dying, or SQS refusing), then the
    real one is back."""
    real = getattr(work_queue, name)

    def once(*args, **kwargs):
        monkeypatch.setattr(work_queue, name, real)
        raise error

    monkeypatch.setattr(work_queue, name, once)


def sqs_unavailable() -> ClientError:
    return ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessageBatch")


def tick(stack) -> None:
    stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))


def execution(stack, execution_id: str) -> dict:
    answer = stack.call("GET", f"/api/v1/executions/{execution_id}")
    assert answer.status == 200, answer.raw
    return answer.body


def ran_once(stack, execution_id: str) -> None:
    ran = execution(stack, execution_id)
    assert (ran["state"]["current"], ran["attempt"]) == ("SUCCESS", 1)
    assert [h["state"] for h in ran["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
    lines = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution_id}").body]
    assert lines == [f"ran {execution_id}"]


def test_a_run_by_hand_whose_api_died_between_create_and_queue_is_queued_by_the_watchdog_and_runs_once(
    by_hand, monkeypatch
):
    stack = by_hand
    fails_once(monkeypatch, "send", ExecutorDied())
    with pytest.raises(ExecutorDied):
        stack.call("POST", "/api/v1/executions/tests/by_hand")
    (created,) = stack.executions(namespace="tests", flowId="by_hand")
    assert created["state"]["current"] == "CREATED" and stack.queue_depth() == 0

    tick(stack)  # within its grace (EXECUTION_MESSAGE_GRACE_SECONDS, 300 s): its message may still be on its way
    assert stack.queue_depth() == 0
    assert requeue_overdue(datetime.now(UTC) + timedelta(seconds=301)) == 1  # the watchdog, past the grace
    assert requeue_overdue(datetime.now(UTC) + timedelta(seconds=302)) == 0  # queued once a grace period
    assert stack.queue_depth() == 1
    stack.drain()
    ran_once(stack, created["id"])

    assert requeue_overdue(datetime.now(UTC) + timedelta(days=1)) == 0  # taken: never queued again


def test_a_run_by_hand_whose_send_failed_answers_200_and_the_watchdog_runs_it_once(by_hand, set_setting, monkeypatch):
    stack = by_hand
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    fails_once(monkeypatch, "send", sqs_unavailable())
    answer = stack.call("POST", "/api/v1/executions/tests/by_hand")
    assert answer.status == 200 and answer.body["state"]["current"] == "CREATED", answer.raw
    assert stack.queue_depth() == 0

    tick(stack)
    stack.drain()
    ran_once(stack, answer.body["id"])


def test_a_run_by_hand_scheduled_later_whose_message_was_lost_is_not_queued_before_its_date(
    by_hand, set_setting, monkeypatch
):
    stack = by_hand
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    later = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fails_once(monkeypatch, "send_later", ExecutorDied())
    with pytest.raises(ExecutorDied):
        stack.call("POST", f"/api/v1/executions/tests/by_hand?scheduleDate={later}")
    (created,) = stack.executions(namespace="tests", flowId="by_hand")

    tick(stack)
    assert stack.queue_depth() == 0  # its message was to come in ten minutes
    assert requeue_overdue(datetime.now(UTC) + timedelta(minutes=11)) == 1
    stack.drain()
    ran_once(stack, created["id"])


def test_a_duplicate_message_of_a_run_by_hand_does_not_run_it_twice(by_hand, set_setting, monkeypatch):
    stack = by_hand
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    created = stack.call("POST", "/api/v1/executions/tests/by_hand").body
    message = ExecutionMessage(tenant="main", execution_id=created["id"])
    tick(stack)  # its message is slow: the watchdog queues a second
    work_queue.send([message])  # and SQS delivers a third
    assert stack.queue_depth() == 3

    real, busy = task_run_module.run_task, []

    def a_duplicate_arrives_mid_run(*args, **kwargs):
        try:  # another executor receives a duplicate while this attempt holds the execution
            by_id.run_execution(message, lambda: 60.0)
        except SlotBusy:
            busy.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", a_duplicate_arrives_mid_run)
    stack.drain()
    assert busy  # the duplicate found the attempt's lease held and ran nothing
    ran_once(stack, created["id"])

    work_queue.send([message])  # a late duplicate, after the end
    stack.drain()
    ran_once(stack, created["id"])


def test_a_replay_whose_api_died_before_queueing_it_runs_once(by_hand, set_setting, monkeypatch):
    stack = by_hand
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    original = stack.call("POST", "/api/v1/executions/tests/by_hand").body
    stack.drain()
    fails_once(monkeypatch, "send", ExecutorDied())
    with pytest.raises(ExecutorDied):
        stack.call("POST", f"/api/v1/executions/{original['id']}/replay")
    (replay,) = [e for e in stack.executions(namespace="tests", flowId="by_hand") if e["id"] != original["id"]]
    assert replay["state"]["current"] == "CREATED"

    tick(stack)
    stack.drain()
    ran_once(stack, replay["id"])


def test_a_restart_whose_api_died_before_queueing_it_runs_once(stack, marker, set_setting, monkeypatch):
    assert stack.call("POST", "/api/v1/flows", restartable(str(marker)), "application/x-yaml").status == 200
    created = stack.call("POST", "/api/v1/executions/tests/restartable").body
    stack.drain()
    assert execution(stack, created["id"])["state"]["current"] == "FAILED"
    marker.touch()
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    fails_once(monkeypatch, "send", ExecutorDied())
    with pytest.raises(ExecutorDied):
        stack.call("POST", f"/api/v1/executions/{created['id']}/restart")
    assert execution(stack, created["id"])["state"]["current"] == "RESTARTED"

    tick(stack)
    stack.drain()
    ended = execution(stack, created["id"])
    assert ended["state"]["current"] == "SUCCESS"
    assert [h["state"] for h in ended["state"]["histories"]][-3:] == ["RESTARTED", "RUNNING", "SUCCESS"]
    lines = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{created['id']}").body]
    assert lines.count("first") == 1 and lines.count("last") == 1


def test_a_child_not_waited_for_whose_message_send_failed_is_queued_by_the_watchdog_and_runs_once(
    stack, set_setting, monkeypatch
):
    for source in (CHILD, parent("    wait: false\n")):
        assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    backfill(stack)
    real = work_queue.send

    def refuses_the_childs_message(messages):
        if any(isinstance(message, ExecutionMessage) for message in messages):
            monkeypatch.setattr(work_queue, "send", real)
            raise sqs_unavailable()
        return real(messages)

    monkeypatch.setattr(work_queue, "send", refuses_the_childs_message)
    stack.poller().poll_once()  # the parent's slot: its child is written, its message refused
    assert work_queue.send is real
    assert fetched(stack, "parent")["state"]["current"] == "SUCCESS"
    assert fetched(stack, "child")["state"]["current"] == "CREATED"

    tick(stack)
    stack.drain()
    child = fetched(stack, "child")
    assert (child["state"]["current"], child["attempt"]) == ("SUCCESS", 1)


LIMITED = """
id: limited
namespace: tests
concurrency:
  limit: 1
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "ran {{ execution.id }}"
"""


def test_a_run_by_hand_queued_by_its_flows_limit_whose_wait_message_was_lost_is_queued_again_once_overdue(
    stack, set_setting, monkeypatch
):
    assert stack.call("POST", "/api/v1/flows", LIMITED, "application/x-yaml").status == 200
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")
    key = concurrency_repository.flow_key("main", "tests", "limited")
    at = datetime.now(UTC).timestamp()
    assert concurrency_repository.take_place(key, 0, "another", at + 3600, at)  # the flow is full
    created = stack.call("POST", "/api/v1/executions/tests/limited").body
    fails_once(monkeypatch, "send_later", ExecutorDied())  # the executor dies before its wait's message is sent
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    assert execution(stack, created["id"])["state"]["current"] == "QUEUED"
    concurrency_repository.give_back(key, 0, "another")

    tick(stack)  # its wait's message may still come (CONCURRENCY_RECHECK_SECONDS, then WAIT_GRACE_SECONDS)
    assert requeue_overdue(datetime.now(UTC) + timedelta(seconds=WAIT_GRACE_SECONDS - 1)) == 0
    assert requeue_overdue(datetime.now(UTC) + timedelta(seconds=WAIT_GRACE_SECONDS + 11)) == 1
    stack.drain()
    ran = execution(stack, created["id"])
    assert (ran["state"]["current"], ran["attempt"]) == ("SUCCESS", 1)
    assert [h["state"] for h in ran["state"]["histories"]] == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]
