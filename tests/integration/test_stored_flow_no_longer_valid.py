"""A stored flow that a later, stricter validator refuses (one stored before today's limits): read leniently,
reported in its JSON and the logs, never stopping the tick, the watchdog or a search for the other flows;
its own backfills wait, held, until a valid revision is stored."""

from datetime import timedelta

import pytest

from backfill_core.schedules.kestra_time import format_date, now, parse_instant
from backfill_core.storage import flows_repository
from local.lambda_runtime import LambdaContext
from tests.flows import QUICK, backfill_body, ref
from tests.harness import Harness, store_bypassing_validation

LOG_TASK = "  - id: say{n}\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n"
HOURLY = "  - id: every_hour\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 * * * *'\n"
# Stored before the limits of today: 120 tasks (at most 100 now), a 200-character trigger id (at most 100).
TOO_MANY_TASKS = "tasks:\n" + "".join(LOG_TASK.format(n=n) for n in range(120)) + "triggers:\n" + HOURLY
LONG_TRIGGER_ID = (
    "tasks:\n" + LOG_TASK.format(n=0) + "triggers:\n"
    f"  - id: {'t' * 200}\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * * * *'\n"
)
MINUTELY = (
    "id: minutely\nnamespace: tests\ntasks:\n"
    + LOG_TASK.format(n=0)
    + "triggers:\n  - id: every_minute\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * * * *'\n"
)


@pytest.fixture
def stack(aws):
    """The handlers against moto, with no example flows (their crons would tick too), in functions that have
    parsed no flow yet."""
    flows_repository._parsed.cache_clear()
    return Harness(aws)


def scheduler_tick(stack, at) -> dict:
    return stack.scheduler_module.lambda_handler({"scheduledTime": format_date(at)}, LambdaContext("Scheduler", 60))


@pytest.mark.parametrize(
    ("body", "problem"),
    [(TOO_MANY_TASKS, "tasks"), (LONG_TRIGGER_ID, "triggers")],
    ids=["120 tasks", "a 200-character trigger id"],
)
def test_a_stored_flow_that_no_longer_validates_stops_nothing_for_the_other_flows(
    stack, set_setting, caplog, body, problem
):
    registered = stack.call("POST", "/api/v1/flows", MINUTELY, "application/x-yaml")
    assert registered.status == 200, registered.raw
    minute = parse_instant(registered.body["updated"]).replace(second=0, microsecond=0) + timedelta(minutes=1)
    started = stack.call(
        "PUT",
        "/api/v1/triggers",
        {**backfill_body("minutely", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"), "triggerId": "every_minute"},
    )
    assert started.status == 200, started.raw
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)  # the backfill's first message is lost: the watchdog's work
    set_setting("SLOT_RESEND_SECONDS", "0")
    store_bypassing_validation(stack, "stale", body)

    # The scheduler's tick dispatches the other flow's slot, and its watchdog re-sends the lost one.
    assert scheduler_tick(stack, minute) == {"dispatchedSlots": 1, "resentSlots": 1}
    stack.drain()
    ran = stack.executions(namespace="tests")
    assert {e["flowId"] for e in ran} == {"minutely"} and len(ran) == 3
    assert all(e["state"]["current"] == "SUCCESS" for e in ran)

    # The searches answer for the others.
    found = stack.call("GET", "/api/v1/triggers/search?namespace=tests")
    assert found.status == 200, found.raw
    assert [r["triggerContext"]["flowId"] for r in found.body["results"]] == ["minutely"]
    assert stack.call("GET", "/api/v1/executions/search?namespace=tests&flowId=stale").body["results"] == []

    # The flow itself is shown as stored, with why it no longer validates (Kestra's FlowWithException).
    listed = stack.call("GET", "/api/v1/flows/tests")
    assert listed.status == 200, listed.raw
    stale = next(f for f in listed.body if f["id"] == "stale")
    assert "minutely" in {f["id"] for f in listed.body}
    assert "no longer validates" in stale["exception"] and problem in stale["exception"]
    one = stack.call("GET", "/api/v1/flows/tests/stale")
    assert one.status == 200 and one.body["exception"] == stale["exception"]
    assert "exception" not in stack.call("GET", "/api/v1/flows/tests/minutely").body
    # ...and in the logs, named.
    reported = [r for r in caplog.records if r.levelname == "WARNING" and "no longer validates" in r.getMessage()]
    assert [r.flow for r in reported] == ["tests.stale"] and problem in reported[0].problem
    skipped = [r for r in caplog.records if r.getMessage() == "live schedule skipped"]
    assert skipped and "tests.stale" in skipped[0].reason

    # Nothing starts on it until it is corrected.
    refused = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("stale", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
    )
    assert refused.status == 422 and "no longer validates" in refused.message


def test_a_backfill_of_a_flow_that_no_longer_validates_waits_held_until_a_valid_revision(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    started = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")
    )
    assert started.status == 200, started.raw
    backfill_id = started.body["backfill"]["id"]
    store_bypassing_validation(stack, "quick", TOO_MANY_TASKS)  # a later validator refuses what was stored

    stack.drain()
    assert stack.executions(namespace="tests") == []  # its slot did not run a flow that cannot be read
    held = stack.backfill(backfill_id)
    assert held["triggerDisabled"] is True and held["counts"]["PARKED"] == 1
    assert scheduler_tick(stack, now())["dispatchedSlots"] == 0  # nor does the live schedule run it
    paused = stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    assert paused.status == 422 and "no longer validates" in paused.message
    assert stack.backfill(backfill_id)["paused"] is False

    assert stack.call("PUT", "/api/v1/flows/tests/quick", QUICK, "application/x-yaml").status == 200
    stack.drain()
    ran = stack.executions(namespace="tests", flowId="quick")
    assert sorted(e["trigger"]["variables"]["date"] for e in ran) == [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
        "2024-01-01T02:00:00Z",
    ]
    assert all(e["state"]["current"] == "SUCCESS" for e in ran)
    assert stack.backfill(backfill_id)["succeeded"] == 3


def test_a_flow_that_no_longer_validates_can_be_deleted_and_its_backfill_is_cancelled(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    started = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")
    )
    store_bypassing_validation(stack, "quick", LONG_TRIGGER_ID + HOURLY)

    assert stack.call("DELETE", "/api/v1/flows/tests/quick").status == 204
    assert stack.call("GET", "/api/v1/flows/tests/quick").status == 404
    assert stack.backfill(started.body["backfill"]["id"])["status"] == "CANCELLED"
    stack.drain()
    assert stack.executions(namespace="tests") == []


def test_a_stored_flow_is_parsed_once_per_revision(stack, monkeypatch):
    parsed = []
    parse = flows_repository.parse_flow
    monkeypatch.setattr(flows_repository, "parse_flow", lambda source: parsed.append(source) or parse(source))
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    for _ in range(3):
        assert stack.call("GET", "/api/v1/flows/tests/quick").status == 200
        assert stack.call("GET", "/api/v1/triggers/search?namespace=tests").status == 200
    assert len(parsed) == 1
    changed = QUICK.replace("slot {{", "the slot {{")
    assert stack.call("PUT", "/api/v1/flows/tests/quick", changed, "application/x-yaml").body["revision"] == 2
    assert stack.call("GET", "/api/v1/flows/tests/quick").body["source"] == changed
    assert parsed == [QUICK, changed]
