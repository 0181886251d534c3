"""What a slot's execution costs on AWS: the executor wrote it five times and read it, its kill request and its flow
on every slot (issue 15). Now it is created RUNNING, written once more when it ends with its log lines, and its
flow read at most every FLOW_CACHE_SECONDS; what a user sees of it (lines, kills, the flow's revision) is as it
was."""

import time
from collections import Counter

import pytest

from backfill_core import aws_clients
from backfill_core.flows import task_run as task_run_module
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.settings import settings
from backfill_core.storage import execution_logs, executions_repository
from tests.flows import QUICK, backfill_body

THREE_SLOTS = ("2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")


def said(message: str, flow_id: str = "said") -> str:
    return f"""
id: {flow_id}
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{message}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


@pytest.fixture
def calls():
    """The executions and flows tables' calls, by (table, operation), while the test runs."""
    counted: Counter = Counter()

    def count(params, model, **_):
        counted[(params.get("TableName"), model.name)] += 1

    events = aws_clients.dynamodb().meta.events
    events.register("provide-client-params.dynamodb", count)
    yield counted
    events.unregister("provide-client-params.dynamodb", count)


def test_a_one_task_slot_writes_its_execution_twice_and_reads_neither_it_nor_its_flow_again(stack, calls):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *THREE_SLOTS)).status == 200
    calls.clear()
    stack.drain()
    executions, flows = settings().executions_table, settings().flows_table
    made = dict(calls)
    assert len(stack.executions(namespace="tests", flowId="quick", state="SUCCESS")) == 3
    # Per slot: the create (RUNNING, its lease) and the final save (its state and its log line).
    assert {op: n for (table, op), n in made.items() if table == executions} == {"PutItem": 6}
    assert {op: n for (table, op), n in made.items() if table == flows} == {"GetItem": 1}
    # Per slot: its claim and its count in the backfill's progress, no slot record (its execution tells how it
    # ended); then the backfill stored as ended, and its spec leaving the RunningBackfills index.
    assert {op: n for (table, op), n in made.items() if table == settings().triggers_table} == {"UpdateItem": 3 * 2 + 2}


def test_a_slots_lines_read_alike_from_every_log_route_on_its_record_and_past_it(stack):
    long_line = "x" * 1500  # past what the record keeps: a LOG item, between two lines the record keeps
    flow = f"""
id: chatty
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: "{long_line}"
  - id: third
    type: io.kestra.plugin.core.log.Log
    message: three
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
    assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("chatty", THREE_SLOTS[0], THREE_SLOTS[0]))
    stack.drain()
    [execution] = stack.executions(namespace="tests", flowId="chatty")
    lines = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert [(line["taskId"], line["message"]) for line in lines] == [
        ("first", "one"),
        ("second", long_line),
        ("third", "three"),
    ]
    assert all(
        (line["executionId"], line["namespace"], line["flowId"], line["tenantId"], line["triggerId"])
        == (execution["id"], "tests", "chatty", "main", "every_hour")
        for line in lines
    )
    found = stack.call("GET", "/api/v1/logs/search?namespace=tests&flowId=chatty&sort=timestamp:asc&size=10").body
    assert found["results"] == lines
    text = stack.call("GET", f"/api/v1/logs/{execution['id']}/download").body
    assert [row.split(" ", 2)[2] for row in text.splitlines()] == ["one", long_line, "three"]
    items = stack.dynamodb.query(
        TableName=settings().executions_table,
        KeyConditionExpression="pk = :id",
        ExpressionAttributeValues={":id": {"S": execution["id"]}},
    )["Items"]
    assert sorted(item["sk"]["S"][:4] for item in items) == ["EXEC", "LOG#"]  # one line past the record's room
    assert list(execution_logs.logs(execution["id"])) == [
        {key: line[key] for key in ("tenantId", "namespace", "flowId", "executionId", "triggerId")}
        | {key: line.get(key) for key in ("taskId", "taskRunId", "attemptNumber", "timestamp", "level", "message")}
        for line in lines
    ]


def store_as_another_function(stack, source: str, revision: int) -> None:
    """A revision stored by the API's own function: nothing in the executor's process hears of it."""
    stamp = format_date(now())
    stack.dynamodb.put_item(
        TableName=settings().flows_table,
        Item={
            "pk": {"S": "main#tests"},
            "sk": {"S": "said"},
            "tenant": {"S": "main"},
            "source": {"S": source},
            "revision": {"N": str(revision)},
            "updated": {"S": stamp},
            "created": {"S": stamp},
        },
    )


def run_one_slot(stack) -> None:
    stack.poller().poll_once()


def revisions_run(stack) -> list[tuple[int, str]]:
    found = sorted(stack.executions(namespace="tests", flowId="said"), key=lambda e: e["trigger"]["variables"]["date"])
    return [
        (execution["flowRevision"], stack.call("GET", f"/api/v1/logs/{execution['id']}").body[0]["message"])
        for execution in found
    ]


def test_a_revision_stored_by_another_function_is_run_once_the_flow_cache_bound_has_passed(stack, set_setting):
    set_setting("FLOW_CACHE_SECONDS", "1")
    assert stack.call("POST", "/api/v1/flows", said("r1"), "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("said", *THREE_SLOTS))
    run_one_slot(stack)
    store_as_another_function(stack, said("r2"), 2)
    time.sleep(1.1)
    stack.drain()
    assert revisions_run(stack) == [(1, "r1"), (2, "r2"), (2, "r2")]


def test_a_revision_stored_through_this_process_is_run_at_once_whatever_the_bound(stack, set_setting):
    set_setting("FLOW_CACHE_SECONDS", "300")
    assert stack.call("POST", "/api/v1/flows", said("r1"), "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("said", *THREE_SLOTS))
    run_one_slot(stack)
    assert stack.call("PUT", "/api/v1/flows/tests/said", said("r2"), "application/x-yaml").status == 200
    stack.drain()
    assert revisions_run(stack) == [(1, "r1"), (2, "r2"), (2, "r2")]


THREE_LOGS = """
id: three
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: two
  - id: third
    type: io.kestra.plugin.core.log.Log
    message: three
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def test_a_kill_asked_for_between_tasks_is_learned_from_the_progress_write_not_a_read_per_task(
    stack, calls, monkeypatch
):
    assert stack.call("POST", "/api/v1/flows", THREE_LOGS, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("three", THREE_SLOTS[0], THREE_SLOTS[0]))
    real = task_run_module.run_task

    def run_task(task_type, props, log, budget, killed=lambda: False, **ids):
        if ids["task_id"] == "second":
            assert executions_repository.request_kill(ids["execution_id"])
        return real(task_type, props, log, budget, killed, **ids)

    monkeypatch.setattr(task_run_module, "run_task", run_task)
    calls.clear()
    stack.drain()
    reads = calls[(settings().executions_table, "GetItem")]
    [execution] = stack.executions(namespace="tests", flowId="three")
    assert execution["state"]["current"] == "KILLED"
    assert [t["state"]["current"] for t in execution["taskRunList"]] == ["SUCCESS", "SUCCESS"]  # the third never ran
    lines = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert [line["message"] for line in lines] == ["one", "two"]
    assert reads == 0
