"""The seed scenario through the handlers: Kestra's PUT /api/v1/triggers replays every slot once."""

import pytest

from tests.harness import BACKFILL_LABEL, correlation_label

SEED_BODY = {
    "backfill": {
        "start": "2024-03-28T06:30:00.000Z",
        "end": "2024-03-28T11:30:00.000Z",
        "inputs": None,
        "labels": [{"key": "reason", "value": "outage"}],
    },
    "flowId": "scheduled_flow",
    "namespace": "dev",
    "triggerId": "schedule",
}
SEED_SLOTS = [f"2024-03-28T{h:02d}:{m:02d}:00Z" for h in range(6, 12) for m in (0, 30) if (h, m) >= (6, 30)]


@pytest.mark.parametrize("prefix", ["/api/v1", "/api/v1/main"])
def test_seed_backfill_runs_each_slot_once_with_its_date_labels_and_log(stack, prefix):
    answer = stack.call("PUT", f"{prefix}/triggers", SEED_BODY)
    assert answer.status == 200, answer.raw
    trigger = answer.body
    assert (trigger["namespace"], trigger["flowId"], trigger["triggerId"]) == ("dev", "scheduled_flow", "schedule")
    assert trigger["backfill"]["start"] == "2024-03-28T06:30:00Z"
    assert trigger["backfill"]["end"] == "2024-03-28T11:30:00Z"
    assert trigger["backfill"]["currentDate"] == "2024-03-28T06:30:00Z"
    assert trigger["backfill"]["paused"] is False
    assert trigger["backfill"]["labels"] == [{"key": "reason", "value": "outage"}]
    assert trigger["backfill"]["previousNextExecutionDate"] == trigger["nextExecutionDate"]
    assert trigger["disabled"] is False

    # Kestra's default: one slot in flight at a time.
    assert stack.queue_depth() == 1
    stack.drain()

    executions = stack.executions(namespace="dev", flowId="scheduled_flow", labels="reason:outage")
    dates = sorted(e["trigger"]["variables"]["date"] for e in executions)
    assert dates == SEED_SLOTS
    assert len(SEED_SLOTS) == 11
    for execution in executions:
        assert execution["state"]["current"] == "SUCCESS"
        assert [h["state"] for h in execution["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
        assert execution["labels"] == [
            {"key": "reason", "value": "outage"},
            BACKFILL_LABEL,
            correlation_label(execution),
        ]
        assert execution["attempt"] == 1
        logs = stack.call("GET", f"{prefix}/logs/{execution['id']}").body
        messages = [line["message"] for line in logs]
        assert f"processing data for {execution['trigger']['variables']['date']}" in messages

    # The backfill is over: the trigger shows none, the queue is empty, nothing ran twice.
    after = stack.call("GET", f"{prefix}/triggers/search?namespace=dev&flowId=scheduled_flow").body
    assert after["total"] == 1
    assert after["results"][0]["triggerContext"].get("backfill") is None
    assert after["results"][0]["abstractTrigger"]["cron"] == "*/30 * * * *"
    assert stack.queue_depth() == 0
    assert stack.queue_depth(stack.dlq_url) == 0


def test_executions_run_oldest_first(stack):
    stack.call("PUT", "/api/v1/triggers", SEED_BODY)
    stack.drain()
    executions = stack.executions(namespace="dev", sort="state.startDate:asc")
    assert [e["trigger"]["variables"]["date"] for e in executions] == SEED_SLOTS


def test_trigger_variables_are_the_slot_and_its_neighbours(stack):
    body = {**SEED_BODY, "backfill": {**SEED_BODY["backfill"], "end": "2024-03-28T06:30:00Z"}}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="dev")
    assert execution["trigger"]["variables"]["date"] == "2024-03-28T06:30:00Z"
    assert execution["trigger"]["variables"]["next"] == "2024-03-28T07:00:00Z"
    assert execution["trigger"]["variables"]["previous"] == "2024-03-28T06:00:00Z"
    assert execution["trigger"]["type"] == "io.kestra.plugin.core.trigger.Schedule"


def test_start_off_slot_begins_at_the_next_slot(stack):
    body = {
        **SEED_BODY,
        "backfill": {**SEED_BODY["backfill"], "start": "2024-03-28T06:31:00Z", "end": "2024-03-28T07:30:00+00:00"},
    }
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    dates = sorted(e["trigger"]["variables"]["date"] for e in stack.executions(namespace="dev"))
    assert dates == ["2024-03-28T07:00:00Z", "2024-03-28T07:30:00Z"]


def test_offsets_are_compared_as_instants(stack):
    body = {
        **SEED_BODY,
        "backfill": {**SEED_BODY["backfill"], "start": "2024-03-28T08:30:00+02:00", "end": "2024-03-28T07:00:00-00:00"},
    }
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    dates = sorted(e["trigger"]["variables"]["date"] for e in stack.executions(namespace="dev"))
    assert dates == ["2024-03-28T06:30:00Z", "2024-03-28T07:00:00Z"]
