"""A flow's `concurrency` holds across its executions, backfill and live slots alike: past `limit`, QUEUE waits
(QUEUED) until a running one ends, CANCEL and FAIL end the new one so and the backfill counts it; a place whose
executor died is free again once its lease ends."""

import os
import threading
import time
from datetime import datetime

import pytest

from backfill_core import aws_clients
from backfill_core.flows import task_run as task_run_module
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import work_queue
from local.aws_template import load_template
from local.event_source import QueuePoller
from tests.flows import backfill_body
from tests.harness import ExecutorDied
from tests.integration.test_policies import Recorder, allowed

TWO_SLOTS = ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
FLOW = """
id: limited
namespace: tests
concurrency:
  limit: 1
  behavior: {behavior}
tasks:
  - id: work
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


@pytest.fixture
def limited(stack, set_setting):
    """Registers the flow with limit 1 and the given behavior; a queued slot looks again after a second."""
    set_setting("CONCURRENCY_RECHECK_SECONDS", "1")

    def register(behavior: str):
        answer = stack.call("POST", "/api/v1/flows", FLOW.format(behavior=behavior), "application/x-yaml")
        assert answer.status == 200, answer.raw
        return stack

    return register


def hold_first_execution(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The first execution's task starts, then waits until `release` is set."""
    started, release = threading.Event(), threading.Event()
    first: list[str] = []
    real = task_run_module.run_task

    def run_task(*args, execution_id, **kwargs):
        first[:] = first or [execution_id]
        if execution_id == first[0] and not release.is_set():
            started.set()
            release.wait(20)
        return real(*args, execution_id=execution_id, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", run_task)
    return started, release


def one_at_a_time(stack) -> QueuePoller:
    """An executor receiving one message per invocation, as the template's event source does."""
    return QueuePoller(
        stack.sqs,
        stack.queue_url,
        stack.resources.queue_arns["WorkQueue"],
        stack.executor_module.lambda_handler,
        batch_size=1,
        timeout_seconds=120,
        wait_seconds=0,
    )


def run_until(stack, done, seconds: float = 30) -> None:
    """Run the executor until `done()`: a queued slot's message comes back only after its delay."""
    poller, deadline = one_at_a_time(stack), time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        if not poller.poll_once():
            time.sleep(0.1)


def settled(stack, backfill_id: str):
    return lambda: stack.backfill(backfill_id)["status"] not in ("RUNNING", "CANCELLING")


def by_slot(stack) -> dict[str, dict]:
    return {e["trigger"]["variables"]["date"]: e for e in stack.executions(namespace="tests", flowId="limited")}


def span(execution: dict) -> tuple[datetime, datetime]:
    """When its (last) attempt started running, and when it ended."""
    histories = execution["state"]["histories"]
    started = [h["date"] for h in histories if h["state"] == "RUNNING"][-1]
    return datetime.fromisoformat(started), datetime.fromisoformat(histories[-1]["date"])


def states(execution: dict) -> list[str]:
    return [h["state"] for h in execution["state"]["histories"]]


def start_two_slots(stack, monkeypatch) -> tuple[str, threading.Thread, threading.Event]:
    """A backfill of two slots dispatched at once; the first runs and is held; returns the backfill's id, the
    executor running it, and the event that lets it finish."""
    started, release = hold_first_execution(monkeypatch)
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("limited", *TWO_SLOTS, concurrency=2))
    assert answer.status == 200, answer.raw
    worker = threading.Thread(target=one_at_a_time(stack).poll_once)
    worker.start()
    assert started.wait(20)
    return answer.body["backfill"]["id"], worker, release


def test_limit_one_with_queue_runs_two_backfill_slots_one_after_the_other(limited, monkeypatch):
    stack = limited("QUEUE")
    backfill_id, worker, release = start_two_slots(stack, monkeypatch)
    assert one_at_a_time(stack).poll_once() == 1  # the second slot: the flow is full
    waiting = [e for e in by_slot(stack).values() if e["state"]["current"] != "RUNNING"]
    assert [states(e) for e in waiting] == [["CREATED", "QUEUED"]]
    assert [e["id"] for e in stack.executions(namespace="tests", state="QUEUED")] == [waiting[0]["id"]]
    assert stack.backfill(backfill_id)["running"] == 2  # both slots are in flight, one of them QUEUED
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))

    first, second = sorted(by_slot(stack).values(), key=lambda e: span(e)[0])
    assert states(first) == ["CREATED", "RUNNING", "SUCCESS"]
    assert states(second) == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]
    assert span(first)[1] <= span(second)[0]  # no overlap
    final = stack.backfill(backfill_id)
    assert (final["status"], final["succeeded"], final["running"]) == ("SUCCEEDED", 2, 0)
    assert stack.queue_depth() == 0 and stack.queue_depth(stack.dlq_url) == 0


@pytest.mark.parametrize(
    ("behavior", "state", "counter"), [("CANCEL", "CANCELLED", "cancelled"), ("FAIL", "FAILED", "failed")]
)
def test_cancel_and_fail_end_the_extra_execution_so_and_the_backfill_counts_it(
    limited, monkeypatch, behavior, state, counter
):
    stack = limited(behavior)
    backfill_id, worker, release = start_two_slots(stack, monkeypatch)
    assert one_at_a_time(stack).poll_once() == 1
    (extra,) = [e for e in by_slot(stack).values() if e["state"]["current"] != "RUNNING"]
    assert states(extra) == ["CREATED", state]
    assert extra["taskRunList"] == []  # no task ran
    progress = stack.backfill(backfill_id)
    assert (progress[counter], progress["running"]) == (1, 1)
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{extra['id']}").body]
    assert logs == (["Flow is FAILED due to concurrency limit exceeded"] if behavior == "FAIL" else [])
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))
    final = stack.backfill(backfill_id)
    assert (final["succeeded"], final[counter], final["running"]) == (1, 1, 0)
    assert stack.queue_depth() == 0


def test_a_live_slot_and_a_backfill_slot_share_the_flows_limit(limited, monkeypatch):
    stack = limited("QUEUE")
    started, release = hold_first_execution(monkeypatch)
    live = SlotMessage(
        kind="schedule",
        tenant="main",
        namespace="tests",
        flow_id="limited",
        trigger_id="every_hour",
        date="2024-01-01T05:00:00Z",
    )
    work_queue.send([live])
    worker = threading.Thread(target=one_at_a_time(stack).poll_once)
    worker.start()
    assert started.wait(20)
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("limited", *TWO_SLOTS[:1] * 2))
    backfill_id = answer.body["backfill"]["id"]
    assert one_at_a_time(stack).poll_once() == 1
    assert by_slot(stack)[TWO_SLOTS[0]]["state"]["current"] == "QUEUED"
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))

    executions = by_slot(stack)
    live_run, backfill_run = executions["2024-01-01T05:00:00Z"], executions[TWO_SLOTS[0]]
    assert live_run["trigger"]["variables"]["backfill"] is False
    assert states(live_run)[-1] == "SUCCESS"
    assert states(backfill_run) == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]
    assert span(live_run)[1] <= span(backfill_run)[0]


def test_a_place_whose_executor_died_is_free_once_its_lease_ends(limited, monkeypatch, set_setting):
    stack = limited("QUEUE")
    set_setting("EXECUTION_LEASE_SECONDS", "1")
    # The crashed slot's message comes back after 3 s; the place's lease ends after 1 s.
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "3"})
    real, calls = task_run_module.run_task, {"n": 0}

    def dies_first(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ExecutorDied()
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", dies_first)
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("limited", *TWO_SLOTS, concurrency=2))
    backfill_id = answer.body["backfill"]["id"]
    with pytest.raises(ExecutorDied):
        one_at_a_time(stack).poll_once()
    (crashed,) = stack.executions(namespace="tests", flowId="limited")
    assert one_at_a_time(stack).poll_once() == 1  # the other slot: the dead executor's place is still held
    assert by_slot(stack)[_other(crashed)]["state"]["current"] == "QUEUED"
    run_until(stack, settled(stack, backfill_id))

    executions = by_slot(stack)
    resumed, other = executions[crashed["trigger"]["variables"]["date"]], executions[_other(crashed)]
    assert states(resumed) == ["CREATED", "RUNNING", "RUNNING", "SUCCESS"]  # resumed as the same execution
    assert states(other) == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]
    first_attempt = datetime.fromisoformat(resumed["state"]["histories"][1]["date"])
    # The other slot ran while the crashed one was not yet resumed: its place was freed by the lease alone.
    assert first_attempt <= span(other)[0] and span(other)[1] <= span(resumed)[0]
    assert stack.backfill(backfill_id)["succeeded"] == 2
    assert stack.queue_depth(stack.dlq_url) == 0


def _other(execution: dict) -> str:
    return next(slot for slot in TWO_SLOTS if slot != execution["trigger"]["variables"]["date"])


def messages_for_later(stack) -> int:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


def test_a_duplicate_message_of_a_queued_slot_stops_there_and_one_message_waits(limited, monkeypatch):
    """The watchdog re-sends a RUNNING backfill slot (no wait token): it must not start a second wait."""
    stack = limited("QUEUE")
    backfill_id, worker, release = start_two_slots(stack, monkeypatch)
    assert one_at_a_time(stack).poll_once() == 1
    (queued,) = [e for e in by_slot(stack).values() if e["state"]["current"] == "QUEUED"]
    assert (stack.queue_depth(), messages_for_later(stack)) == (1, 1)  # the held slot's, and the wait's
    slot = queued["trigger"]["variables"]["date"]
    position = TWO_SLOTS.index(slot)  # the first window: lane n holds the n-th slot
    duplicate = SlotMessage(
        tenant="main",
        namespace="tests",
        flow_id="limited",
        trigger_id="every_hour",
        backfill_id=backfill_id,
        date=slot,
        lane=position,
        position=position,
    )
    work_queue.send([duplicate])
    assert one_at_a_time(stack).poll_once() == 1
    assert (stack.queue_depth(), messages_for_later(stack)) == (1, 1)
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))
    assert stack.backfill(backfill_id)["succeeded"] == 2
    assert states(by_slot(stack)[slot]) == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]


def test_a_queued_execution_that_is_killed_ends_killed_without_running(limited, monkeypatch):
    stack = limited("QUEUE")
    backfill_id, worker, release = start_two_slots(stack, monkeypatch)
    assert one_at_a_time(stack).poll_once() == 1
    (queued,) = [e for e in by_slot(stack).values() if e["state"]["current"] == "QUEUED"]
    assert stack.call("DELETE", f"/api/v1/executions/{queued['id']}/kill").status == 202
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))
    killed = stack.call("GET", f"/api/v1/executions/{queued['id']}").body
    assert states(killed) == ["CREATED", "QUEUED", "KILLED"] and killed["taskRunList"] == []
    final = stack.backfill(backfill_id)
    assert (final["succeeded"], final["cancelled"]) == (1, 1)


@pytest.fixture
def executor_calls(stack, monkeypatch):
    """The DynamoDB and SQS calls made inside the executor's handler, as tests/integration/test_policies.py
    records them (the test's own API calls are left out)."""
    tables = {os.environ["EXECUTIONS_TABLE"]: "ExecutionsTable", os.environ["TRIGGERS_TABLE"]: "TriggersTable"}
    tables[os.environ["FLOWS_TABLE"]] = "FlowsTable"
    recording = Recorder(tables, {url: name for name, url in stack.resources.queue_urls.items()}, {}, {})
    handler, inside = stack.executor_module.lambda_handler, []

    def recorded_handler(event, context):
        inside.append(1)
        recording.function = "ExecutorFunction"
        try:
            return handler(event, context)
        finally:
            inside.pop()
            recording.function = "ExecutorFunction" if inside else "ApiFunction"

    monkeypatch.setattr(stack.executor_module, "lambda_handler", recorded_handler)
    clients = (aws_clients.dynamodb(), aws_clients.sqs())
    for client in clients:
        client.meta.events.register("provide-client-params.*.*", recording)
    yield recording
    for client in clients:
        client.meta.events.unregister("provide-client-params.*.*", recording)


def test_every_call_of_a_flows_concurrency_limit_is_allowed_by_the_executors_policy(
    limited, monkeypatch, executor_calls
):
    """Places read, taken, renewed and given back; a wait written and its message sent for later; a queued
    execution killed (see tests/integration/test_policies.py)."""
    stack = limited("QUEUE")
    backfill_id, worker, release = start_two_slots(stack, monkeypatch)
    assert one_at_a_time(stack).poll_once() == 1
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))
    made = {(action, resource) for function, action, resource in executor_calls.calls if function == "ExecutorFunction"}
    assert {("dynamodb:UpdateItem", "ExecutionsTable"), ("dynamodb:DeleteItem", "ExecutionsTable")} <= made
    assert sorted(made - allowed("ExecutorFunction")) == []


def test_a_restart_of_the_local_stack_frees_the_places_its_dead_executions_held(aws):
    from backfill_core.flows.concurrency import places_to_try
    from backfill_core.storage import concurrency_repository

    key, now = concurrency_repository.flow_key("main", "tests", "limited"), 1_000_000.0
    assert concurrency_repository.take_place(key, 0, "dead", now + 120, now)
    assert places_to_try(concurrency_repository.places(key), 1, "next", now) == []
    assert concurrency_repository.free_all_places(now) == 1
    assert places_to_try(concurrency_repository.places(key), 1, "next", now + 0.001) == [0]


def test_a_place_outlasts_a_task_attempt_between_two_renewals():
    """A running execution renews its place after each task attempt: the lease must outlast the longest one,
    or a second execution could take the place from one still running."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert int(variables["TASK_TIMEOUT_SECONDS"]) < int(variables["EXECUTION_LEASE_SECONDS"])


def test_an_execution_resumed_after_its_executor_died_waits_for_a_place_still_running(
    limited, monkeypatch, set_setting
):
    """Its place went to another slot while its executor was down: its next attempt waits as a queued one does
    (a message sent for later, no receive counted), still RUNNING, and carries on once the other ends."""
    stack = limited("QUEUE")
    set_setting("EXECUTION_LEASE_SECONDS", "1")
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "3"})
    started, release = threading.Event(), threading.Event()
    real, calls = task_run_module.run_task, {"n": 0}

    def dies_then_holds(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ExecutorDied()
        if calls["n"] == 2:  # the other slot, on the place the dead executor's lease gave up
            started.set()
            release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", dies_then_holds)
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("limited", *TWO_SLOTS, concurrency=2))
    backfill_id = answer.body["backfill"]["id"]
    with pytest.raises(ExecutorDied):
        one_at_a_time(stack).poll_once()
    (crashed,) = stack.executions(namespace="tests", flowId="limited")
    assert one_at_a_time(stack).poll_once() == 1  # the other slot queues
    set_setting("EXECUTION_LEASE_SECONDS", "30")  # the dead one's lease was 1 s; the other's outlasts its task
    worker = threading.Thread(target=run_until, args=(stack, started.is_set))
    worker.start()
    assert started.wait(20)
    run_until(stack, lambda: messages_for_later(stack) == 1, seconds=10)  # the resumed slot's wait
    waiting = stack.call("GET", f"/api/v1/executions/{crashed['id']}").body
    assert (waiting["state"]["current"], waiting["attempt"]) == ("RUNNING", 1)
    release.set()
    worker.join()
    run_until(stack, settled(stack, backfill_id))

    resumed, other = by_slot(stack)[crashed["trigger"]["variables"]["date"]], by_slot(stack)[_other(crashed)]
    assert states(resumed) == ["CREATED", "RUNNING", "RUNNING", "SUCCESS"] and resumed["attempt"] == 2
    assert span(other)[1] <= span(resumed)[0]
    assert stack.backfill(backfill_id)["succeeded"] == 2
    assert stack.queue_depth(stack.dlq_url) == 0


def test_a_restart_at_the_flows_limit_waits_for_a_place_then_runs(limited, monkeypatch, readable_tmp):
    """Was: a restarted execution (RESTARTED, attempts already counted) found its flow at its QUEUE limit and its
    wait's write expected a RUNNING one: the message was dropped and the restart never ran."""
    stack = limited("QUEUE")
    fixed = readable_tmp / "fixed"
    shell = (
        "    type: io.kestra.plugin.scripts.shell.Commands\n"
        "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"
        f"    commands:\n      - test -e '{fixed}'\n"
    )
    failing = FLOW.format(behavior="QUEUE").replace(
        '    type: io.kestra.plugin.core.log.Log\n    message: "slot {{ trigger.date }}"\n', shell
    )
    assert stack.call("PUT", "/api/v1/flows/tests/limited", failing, "application/x-yaml").status == 200
    failed = stack.call("POST", "/api/v1/executions/tests/limited").body["id"]
    run_until(stack, lambda: stack.call("GET", f"/api/v1/executions/{failed}").body["state"]["current"] == "FAILED")
    fixed.touch()
    started, release = hold_first_execution(monkeypatch)
    holder = stack.call("POST", "/api/v1/executions/tests/limited").body["id"]
    worker = threading.Thread(target=one_at_a_time(stack).poll_once)
    worker.start()
    assert started.wait(20)
    assert stack.call("POST", f"/api/v1/executions/{failed}/restart").status == 200
    assert one_at_a_time(stack).poll_once() == 1  # the flow is at its limit: the restart waits
    waiting = stack.call("GET", f"/api/v1/executions/{failed}").body
    assert waiting["state"]["current"] == "QUEUED" and messages_for_later(stack) == 1
    release.set()
    worker.join()
    run_until(stack, lambda: stack.call("GET", f"/api/v1/executions/{failed}").body["state"]["current"] == "SUCCESS")
    restarted = stack.call("GET", f"/api/v1/executions/{failed}").body
    assert states(restarted)[-4:] == ["RESTARTED", "QUEUED", "RUNNING", "SUCCESS"]
    assert span(stack.call("GET", f"/api/v1/executions/{holder}").body)[1] <= span(restarted)[0]
