"""Flows: registered from YAML, validated, revised and deleted through Kestra's routes."""

import pytest

from tests.flows import QUICK

YAML = "application/x-yaml"


def test_create_get_update_delete(stack):
    created = stack.call("POST", "/api/v1/flows", QUICK, YAML)
    assert created.status == 200, created.raw
    assert (created.body["namespace"], created.body["id"], created.body["revision"]) == ("tests", "quick", 1)
    assert created.body["source"] == QUICK
    assert created.body["triggers"][0]["cron"] == "0 * * * *"

    fetched = stack.call("GET", "/api/v1/flows/tests/quick")
    assert fetched.status == 200
    assert fetched.body["revision"] == 1

    changed = QUICK.replace('cron: "0 * * * *"', 'cron: "30 * * * *"')
    updated = stack.call("PUT", "/api/v1/main/flows/tests/quick", changed, YAML)
    assert updated.status == 200, updated.raw
    assert updated.body["revision"] == 2
    assert stack.call("GET", "/api/v1/flows/tests/quick").body["triggers"][0]["cron"] == "30 * * * *"

    listed = stack.call("GET", "/api/v1/flows/tests")
    assert [f["id"] for f in listed.body] == ["quick"]

    assert stack.call("DELETE", "/api/v1/flows/tests/quick").status == 204
    gone = stack.call("GET", "/api/v1/flows/tests/quick")
    assert gone.status == 404
    assert "quick" in gone.message
    assert stack.call("DELETE", "/api/v1/flows/tests/quick").status == 404


def test_duplicate_id_is_refused(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, YAML).status == 200
    again = stack.call("POST", "/api/v1/flows", QUICK, YAML)
    assert again.status == 422
    assert again.message.startswith("Flow id already exists")
    assert stack.call("GET", "/api/v1/flows/tests/quick").body["revision"] == 1


def test_update_must_match_the_path(stack):
    stack.call("POST", "/api/v1/flows", QUICK, YAML)
    answer = stack.call("PUT", "/api/v1/flows/tests/other", QUICK, YAML)
    assert answer.status == 422
    assert "tests.quick" in answer.message and "tests.other" in answer.message


def test_update_of_an_unknown_flow_is_404(stack):
    answer = stack.call("PUT", "/api/v1/flows/tests/quick", QUICK, YAML)
    assert answer.status == 404


BAD_FLOWS = [
    ("yaml that does not parse", "id: [unclosed\nnamespace: x", "does not parse"),
    ("not a mapping", "- just\n- a list", "mapping"),
    ("no id", "namespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m", "id"),
    ("no tasks", "id: f\nnamespace: tests", "tasks"),
    (
        "unsupported task",
        "id: f\nnamespace: tests\ntasks:\n  - id: q\n    type: io.kestra.plugin.jdbc.postgresql.Query\n    sql: x",
        "tasks[q].type",
    ),
    (
        "docker runner",
        "id: f\nnamespace: tests\ntasks:\n  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n"
        "    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n    commands: [ls]",
        "taskRunner.type",
    ),
    (
        "bad cron",
        "id: f\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '61 * * * *'",
        "triggers[s].cron",
    ),
    (
        "bad timezone",
        "id: f\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
        "    timezone: Mars/Olympus",
        "triggers[s].timezone",
    ),
]


@pytest.mark.parametrize(("case", "source", "needle"), BAD_FLOWS, ids=[c[0] for c in BAD_FLOWS])
def test_bad_flows_are_refused_with_422_naming_the_problem(stack, case, source, needle):
    answer = stack.call("POST", "/api/v1/flows", source, YAML)
    assert answer.status == 422, answer.raw
    assert needle in answer.message
    assert stack.call("GET", "/api/v1/flows/tests").body == []


def test_unsupported_task_lists_the_supported_types(stack):
    source = BAD_FLOWS[4][1]
    message = stack.call("POST", "/api/v1/flows", source, YAML).message
    assert "io.kestra.plugin.scripts.shell.Commands" in message
    assert "io.kestra.plugin.core.log.Log" in message


def test_empty_body_is_refused(stack):
    answer = stack.call("POST", "/api/v1/flows", "", YAML)
    assert answer.status == 422
    assert "YAML" in answer.message


def test_deleting_a_flow_stops_its_backfill_and_a_new_flow_of_that_id_starts_afresh(stack):
    from tests.flows import backfill_body, ref

    assert stack.call("POST", "/api/v1/flows", QUICK, YAML).status == 200
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.poller().poll_once()  # one slot ran, the next is on the queue
    assert stack.call("DELETE", "/api/v1/flows/tests/quick").status == 204
    stack.drain()
    assert len(stack.executions(namespace="tests")) == 1

    assert stack.call("POST", "/api/v1/flows", QUICK, YAML).status == 200
    context = stack.call("GET", "/api/v1/triggers/search?namespace=tests").body["results"][0]["triggerContext"]
    assert context.get("backfill") is None and context["disabled"] is False
    assert context["date"] == stack.call("GET", "/api/v1/flows/tests/quick").body["updated"]  # starts afresh
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
