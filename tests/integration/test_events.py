"""The sample events of events/, invoked as the Lambda console's Test tab or `sam local invoke -e` would.

Each file is loaded as it is on disk and given to the handler it was written for; only the ids a real
run makes at random (a backfill's id, an execution's id) are put in, where events/README.md tells a
console user to put them in too.
"""

import copy
import hashlib
import json
import re
from pathlib import Path

import boto3
import pytest

from local.lambda_runtime import LambdaContext
from tests.conftest import SEED_FLOWS
from tests.harness import BACKFILL_LABEL, Harness, correlation_label

EVENTS = Path(__file__).resolve().parents[2] / "events"
SEED_SLOTS = [f"2024-03-28T{h:02d}:{m:02d}:00Z" for h in range(6, 12) for m in (0, 30) if (h, m) >= (6, 30)]
NO_FAILURES = {"batchItemFailures": []}


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def call_api(stack: Harness, event: dict | str) -> tuple[int, object]:
    """Invoke ApiFunction with an event (or the name of an event file); the status and the parsed body."""
    event = load(event) if isinstance(event, str) else event
    response = stack.api_module.lambda_handler(event, LambdaContext("ApiFunction", 30))
    text = response.get("body") or ""
    return response["statusCode"], json.loads(text) if text else None


def call_executor(stack: Harness, event: dict) -> dict:
    return stack.executor_module.lambda_handler(event, LambdaContext("ExecutorFunction", 120))


def call_scheduler(stack: Harness, event: dict) -> dict:
    return stack.scheduler_module.lambda_handler(event, LambdaContext("SchedulerFunction", 60))


def with_path(event: dict, path: str) -> dict:
    """The event for another path of the same `/{proxy+}` resource (API Gateway sets all three)."""
    event = copy.deepcopy(event)
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
    return event


def with_backfill_id(event: dict, backfill_id: str) -> dict:
    """The SQS event with the message body naming another backfill, md5OfBody recomputed as SQS does."""
    event = copy.deepcopy(event)
    for record in event["Records"]:
        body = json.loads(record["body"])
        body["backfillId"] = backfill_id
        record["body"] = json.dumps(body, separators=(",", ":"))
        record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()
    return event


def trigger_of(stack: Harness) -> dict:
    status, body = call_api(stack, "api/search_triggers.json")
    assert status == 200, body
    assert body["total"] == 1
    return body["results"][0]["triggerContext"]


def executions_of(stack: Harness) -> list[dict]:
    return stack.executions(namespace="dev", flowId="scheduled_flow")


# The files themselves


def all_event_files() -> list[str]:
    return sorted(str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json"))


def test_the_readme_lists_exactly_the_event_files():
    listed = set(re.findall(r"^\| `([a-z_/]+\.json)` \|", (EVENTS / "README.md").read_text(), re.MULTILINE))
    assert listed == set(all_event_files())
    assert {"api/create_backfill.json", "executor/backfill_slot.json", "scheduler/tick.json"} <= listed


@pytest.mark.parametrize("name", [n for n in all_event_files() if n.startswith("api/")])
def test_api_events_have_the_rest_proxy_shape(name):
    event = load(name)
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": event["path"].lstrip("/")}
    assert event["requestContext"]["path"] == "/prod" + event["path"]
    assert event["requestContext"]["stage"] == "prod"
    assert event["requestContext"]["httpMethod"] == event["httpMethod"]
    assert event["multiValueHeaders"] == {k: [v] for k, v in event["headers"].items()}
    assert event["isBase64Encoded"] is False
    assert event["body"] is None or isinstance(event["body"], str)
    if event["body"] is not None:
        assert event["headers"]["Content-Type"] in ("application/json", "application/x-yaml")
    single, multi = event["queryStringParameters"], event["multiValueQueryStringParameters"]
    assert (single is None) == (multi is None)
    if single:
        assert single == {k: v[-1] for k, v in multi.items()}


@pytest.mark.parametrize(
    "name", ["executor/backfill_slot.json", "executor/poison_message.json", "executor/execution_by_id.json"]
)
def test_sqs_events_are_what_the_event_source_mapping_sends(name):
    (record,) = load(name)["Records"]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:WorkQueue"
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    attributes = record["attributes"]
    assert int(attributes["ApproximateFirstReceiveTimestamp"]) >= int(attributes["SentTimestamp"])


# ApiFunction: flows


def test_create_scheduled_flow_registers_the_example_on_a_fresh_deployment(aws):
    fresh = Harness(aws)  # nothing registered, as after `sam deploy`
    status, body = call_api(fresh, "api/search_triggers.json")
    assert (status, body["total"]) == (200, 0)

    status, flow = call_api(fresh, "api/create_scheduled_flow.json")
    assert status == 200, flow
    assert (flow["namespace"], flow["id"], flow["revision"]) == ("dev", "scheduled_flow", 1)
    assert flow["source"] == (SEED_FLOWS / "scheduled_flow_dev.yaml").read_text()

    trigger = trigger_of(fresh)
    assert [trigger[k] for k in ("namespace", "flowId", "triggerId")] == ["dev", "scheduled_flow", "schedule"]
    assert trigger.get("backfill") is None

    status, body = call_api(fresh, "api/create_scheduled_flow.json")  # the same flow twice
    assert status == 422, body
    assert "dev.scheduled_flow" in body["message"]


def test_flow_events_create_get_update_delete(stack):
    status, body = call_api(stack, "api/get_flow.json")
    assert status == 404, body

    status, created = call_api(stack, "api/create_flow.json")
    assert status == 200, created
    assert (created["namespace"], created["id"], created["revision"]) == ("dev", "console_flow", 1)
    assert created["source"] == load("api/create_flow.json")["body"]
    assert created["triggers"][0]["cron"] == "0 * * * *"

    status, fetched = call_api(stack, "api/get_flow.json")
    assert status == 200, fetched
    assert fetched["revision"] == 1
    assert fetched["source"] == created["source"]

    status, updated = call_api(stack, "api/update_flow.json")
    assert status == 200, updated
    assert updated["revision"] == 2
    assert updated["triggers"][0]["timezone"] == "Europe/Paris"
    assert updated["inputs"][0]["defaults"] == "us-east-1"
    assert call_api(stack, "api/get_flow.json")[1]["revision"] == 2

    status, body = call_api(stack, "api/delete_flow.json")
    assert (status, body) == (204, None)
    status, body = call_api(stack, "api/get_flow.json")
    assert status == 404, body
    assert "console_flow" in body["message"]


# ApiFunction: a backfill, as a console user drives it


def test_the_gentle_backfill_event_sets_a_rate_limit_a_run_window_and_live_runs_first(stack):
    status, trigger = call_api(stack, "api/create_gentle_backfill.json")
    assert status == 200, trigger
    backfill = trigger["backfill"]
    assert (backfill["total"], backfill["concurrency"], backfill["maxSlotsPerMinute"]) == (48, 4, 6)
    assert backfill["runWindow"]["from"] == "01:00" and len(backfill["runWindow"]["days"]) == 7
    assert backfill["liveFirst"] is True
    waiting = backfill["status"] == "WAITING_FOR_WINDOW"
    assert waiting == (backfill["nextWindowOpening"] is not None)
    # the first window (paced: three of the four messages are delayed), or nothing outside the hours
    assert backfill["counts"]["DISPATCHED"] == (0 if waiting else 4)


def test_backfill_events_create_search_pause_unpause_delete(stack):
    status, trigger = call_api(stack, "api/create_backfill.json")
    assert status == 200, trigger
    assert [trigger[k] for k in ("namespace", "flowId", "triggerId")] == ["dev", "scheduled_flow", "schedule"]
    backfill = trigger["backfill"]
    assert backfill["start"] == "2024-03-28T06:30:00Z"
    assert backfill["end"] == "2024-03-28T11:30:00Z"
    assert backfill["currentDate"] == "2024-03-28T06:30:00Z"
    assert backfill["paused"] is False
    assert backfill["labels"] == [{"key": "reason", "value": "outage"}]
    assert stack.queue_depth() == 1  # the first slot is on its way to the executor

    searched = trigger_of(stack)
    assert searched["backfill"]["id"] == backfill["id"]
    assert searched["backfill"]["start"] == "2024-03-28T06:30:00Z"

    status, body = call_api(stack, "api/create_backfill.json")  # a second one does not replace the first
    assert status == 409, body
    assert trigger_of(stack)["backfill"]["id"] == backfill["id"]

    status, paused = call_api(stack, "api/pause_backfill.json")
    assert status == 200, paused
    assert paused["backfill"]["paused"] is True
    assert paused["backfill"]["id"] == backfill["id"]
    assert trigger_of(stack)["backfill"]["paused"] is True

    status, unpaused = call_api(stack, "api/unpause_backfill.json")
    assert status == 200, unpaused
    assert unpaused["backfill"]["paused"] is False

    status, deleted = call_api(stack, "api/delete_backfill.json")
    assert status == 200, deleted
    assert deleted.get("backfill") is None
    assert trigger_of(stack).get("backfill") is None

    for name in ("api/delete_backfill.json", "api/pause_backfill.json", "api/unpause_backfill.json"):
        status, body = call_api(stack, name)
        assert (status, body["message"]) == (400, "No backfill found"), name


def test_disable_and_enable_trigger(stack):
    status, disabled = call_api(stack, "api/disable_trigger.json")
    assert status == 200, disabled
    assert disabled["disabled"] is True
    status, body = call_api(stack, "api/create_backfill.json")
    assert status == 409 and "disabled" in body["message"]
    status, enabled = call_api(stack, "api/enable_trigger.json")
    assert status == 200 and enabled["disabled"] is False
    assert call_api(stack, "api/create_backfill.json")[0] == 200


def test_create_backfill_on_the_tenant_path(stack):
    event = load("api/create_backfill_tenant_path.json")
    assert event["path"] == "/api/v1/main/triggers"
    status, trigger = call_api(stack, event)
    assert status == 200, trigger
    assert trigger["tenantId"] == "main"
    assert trigger["backfill"]["start"] == "2024-03-28T06:30:00Z"
    assert trigger["backfill"]["end"] == "2024-03-28T11:30:00Z"
    # The same backfill as seen without the tenant segment.
    assert trigger_of(stack)["backfill"]["id"] == trigger["backfill"]["id"]


def test_create_backfill_with_start_after_end_is_refused_and_changes_nothing(stack):
    status, body = call_api(stack, "api/create_backfill_bad_start.json")
    assert status == 422, body
    assert body["message"].startswith("backfill.start:")
    assert "2024-03-28T11:30:00Z" in body["message"]
    assert "after backfill.end" in body["message"]
    assert trigger_of(stack).get("backfill") is None
    assert stack.queue_depth() == 0


def test_search_executions_then_get_one_and_its_logs(stack):
    status, before = call_api(stack, "api/search_executions.json")
    assert (status, before) == (200, {"results": [], "total": 0})
    as_shipped = load("api/get_execution.json")
    status, body = call_api(stack, as_shipped)  # its sample id names no execution here
    assert status == 404, body
    assert as_shipped["path"].rsplit("/", 1)[1] in body["message"]

    assert call_api(stack, "api/create_backfill.json")[0] == 200
    stack.drain()

    status, found = call_api(stack, "api/search_executions.json")
    assert status == 200, found
    assert found["total"] == len(SEED_SLOTS) == 11
    assert sorted(e["trigger"]["variables"]["date"] for e in found["results"]) == SEED_SLOTS
    for execution in found["results"]:
        assert execution["labels"] == [
            {"key": "reason", "value": "outage"},
            BACKFILL_LABEL,
            correlation_label(execution),
        ]
        assert execution["state"]["current"] == "SUCCESS"

    # The label filter is applied: another value (in both forms API Gateway sends) finds nothing.
    other = load("api/search_executions.json")
    other["queryStringParameters"]["labels"] = "reason:other"
    other["multiValueQueryStringParameters"]["labels"] = ["reason:other"]
    assert call_api(stack, other) == (200, {"results": [], "total": 0})

    first = next(e for e in found["results"] if e["trigger"]["variables"]["date"] == SEED_SLOTS[0])
    status, execution = call_api(stack, with_path(as_shipped, f"/api/v1/executions/{first['id']}"))
    assert status == 200, execution
    assert execution["id"] == first["id"]
    assert execution["trigger"]["variables"]["date"] == "2024-03-28T06:30:00Z"
    assert execution["state"]["current"] == "SUCCESS"

    logs_event = with_path(load("api/get_execution_logs.json"), f"/api/v1/logs/{first['id']}")
    status, logs = call_api(stack, logs_event)
    assert status == 200, logs
    assert {line["executionId"] for line in logs} == {first["id"]}
    assert "processing data for 2024-03-28T06:30:00Z" in [line["message"] for line in logs]


# ExecutorFunction


def test_backfill_slot_as_shipped_names_no_backfill_and_runs_nothing(stack):
    assert call_executor(stack, load("executor/backfill_slot.json")) == NO_FAILURES
    assert executions_of(stack) == []


def test_execution_by_id_as_shipped_names_no_execution_and_runs_nothing(stack):
    assert call_executor(stack, load("executor/execution_by_id.json")) == NO_FAILURES
    assert executions_of(stack) == []
    assert stack.queue_depth() == 0


def test_backfill_slot_runs_its_slot_exactly_once(stack):
    status, trigger = call_api(stack, "api/create_backfill.json")
    assert status == 200, trigger
    event = with_backfill_id(load("executor/backfill_slot.json"), trigger["backfill"]["id"])

    assert call_executor(stack, event) == NO_FAILURES
    (execution,) = executions_of(stack)
    assert execution["trigger"]["variables"]["date"] == "2024-03-28T06:30:00Z"
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["labels"] == [{"key": "reason", "value": "outage"}, BACKFILL_LABEL, correlation_label(execution)]
    assert execution["attempt"] == 1
    after_first = trigger_of(stack)["backfill"]
    assert after_first["succeeded"] == 1
    assert after_first["currentDate"] == "2024-03-28T07:00:00Z"

    # The same record again (a redelivery): nothing runs twice, nothing is counted twice.
    assert call_executor(stack, event) == NO_FAILURES
    assert executions_of(stack) == [execution]
    assert trigger_of(stack)["backfill"]["succeeded"] == 1


def test_poison_message_in_a_batch_is_the_only_failure_reported(stack):
    status, trigger = call_api(stack, "api/create_backfill.json")
    assert status == 200, trigger
    good = with_backfill_id(load("executor/backfill_slot.json"), trigger["backfill"]["id"])
    poison = load("executor/poison_message.json")
    batch = {"Records": good["Records"] + poison["Records"]}

    answer = call_executor(stack, batch)
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison["Records"][0]["messageId"]}]}
    assert [e["trigger"]["variables"]["date"] for e in executions_of(stack)] == ["2024-03-28T06:30:00Z"]


def test_poison_message_alone_is_reported_in_batch_item_failures(stack):
    event = load("executor/poison_message.json")
    answer = call_executor(stack, event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert executions_of(stack) == []


# SchedulerFunction


def test_scheduler_tick_resends_nothing_while_every_message_is_on_its_way(stack):
    assert call_scheduler(stack, load("scheduler/tick.json")) == {"dispatchedSlots": 0, "resentSlots": 0}
    assert call_api(stack, "api/create_backfill.json")[0] == 200
    assert call_scheduler(stack, load("scheduler/tick.json")) == {"dispatchedSlots": 0, "resentSlots": 0}
    assert stack.queue_depth() == 1


def test_scheduler_tick_resends_a_slot_whose_message_was_lost(stack, set_setting):
    assert call_api(stack, "api/create_backfill.json")[0] == 200
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)  # the first slot's message is lost
    assert stack.queue_depth() == 0
    set_setting("SLOT_RESEND_SECONDS", "0")

    assert call_scheduler(stack, load("scheduler/tick.json")) == {"dispatchedSlots": 0, "resentSlots": 1}
    assert stack.queue_depth() == 1
    assert stack.poller().poll_once() == 1
    assert [e["trigger"]["variables"]["date"] for e in executions_of(stack)] == ["2024-03-28T06:30:00Z"]


def for_backfill(name: str, backfill_id: str) -> dict:
    """A backfill-id event with the sample id replaced in its three places, as events/README.md says."""
    text = (EVENTS / name).read_text().replace("3kTmWq9ZxYvB2nLp8RcD1f", backfill_id)
    return json.loads(text)


def test_backfill_resource_events_dry_run_list_slots_retry_cancel(stack):
    samples = ("backfill_slots", "retry_failed_backfill", "cancel_backfill", "change_backfill")
    for name in (f"api/{sample}.json" for sample in samples):
        status, body = call_api(stack, name)  # the sample id names no backfill
        assert status == 404 and "3kTmWq9ZxYvB2nLp8RcD1f" in body["message"], name
    status, plan = call_api(stack, "api/dry_run_backfill.json")
    assert status == 200, plan
    assert (plan["total"], plan["run"], plan["skipped"], len(plan["firstPage"])) == (11, 11, 0, 3)
    status, trigger = call_api(stack, "api/create_backfill.json")
    backfill_id = trigger["backfill"]["id"]
    status, changed = call_api(stack, for_backfill("api/change_backfill.json", backfill_id))
    assert status == 200 and (changed["status"], changed["concurrency"]) == ("PAUSED", 4)
    assert stack.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"paused": False}).status == 200
    stack.drain()
    status, plan = call_api(stack, "api/dry_run_backfill.json")
    assert (plan["run"], plan["skipped"]) == (0, 11)  # every slot succeeded: `failed` skips them all
    status, listed = call_api(stack, "api/list_backfills.json")
    assert status == 200 and [b["id"] for b in listed["results"]] == [backfill_id]
    status, page = call_api(stack, for_backfill("api/backfill_slots.json", backfill_id))
    assert status == 200 and [s["state"] for s in page["results"]] == ["SUCCEEDED"] * 11
    status, retried = call_api(stack, for_backfill("api/retry_failed_backfill.json", backfill_id))
    assert status == 200 and retried["retried"] == 0
    status, body = call_api(stack, for_backfill("api/cancel_backfill.json", backfill_id))
    assert status == 409 and "SUCCEEDED" in body["message"]


# TaskRunnerFunction: invoked through Lambda's Invoke API (the task runner process), never in this process:
# its handler makes the process that imports it the reaper and killer of all its children.


def test_task_runner_event_runs_the_commands_with_only_the_task_environment(aws):
    answer = boto3.client("lambda").invoke(
        FunctionName="TaskRunnerFunction", Payload=(EVENTS / "task_runner/commands_task.json").read_bytes()
    )

    assert "FunctionError" not in answer
    result = json.loads(answer["Payload"].read())
    assert (result["succeeded"], result["killed"], result["outputs"]) == (True, False, {"vars": {}, "exitCode": 0})
    lines = [line["message"] for line in result["logs"]]
    assert lines[0] == "slot 2024-03-28T06:30:00Z of dev.scheduled_flow"
    assert {line.split("=", 1)[0] for line in lines[1:]} == {"HOME", "LANG", "PATH", "PWD", "REASON", "TMPDIR"}
