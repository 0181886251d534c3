"""Kestra's execution and log routes around a run: a run by hand (createExecution), the search's parameters, the
log parameters, search and download, delete, 2.0's actions/kill, replay, restart and follow."""

import json
from datetime import UTC, datetime, timedelta

from backfill_core.settings import settings
from tests.flows import QUICK, backfill_body

GREETER = """
id: greeter
namespace: tests
labels:
  team: data
inputs:
  - id: who
    type: STRING
  - id: times
    type: INT
    defaults: 1
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.who }} x{{ inputs.times }}"
  - id: quiet
    type: io.kestra.plugin.core.log.Log
    level: DEBUG
    message: "debug line"
"""

SHELL = """
id: shell
namespace: tests
inputs:
  - id: name
    type: STRING
tasks:
  - id: run
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - echo {{ inputs.name }}
"""


def restartable(marker: str) -> str:
    """Its second task fails until the file `marker` exists."""
    return f"""
id: restartable
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: first
  - id: check
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - test -e '{marker}'
  - id: last
    type: io.kestra.plugin.core.log.Log
    message: last
"""


def register(stack, source: str) -> None:
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200


def multipart(fields: dict[str, str], boundary: str = "kestraBoundary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


def run_by_hand(stack, flow_id: str, inputs: dict | None = None, query: str = "", expect: int = 200) -> dict:
    body, content_type = multipart(inputs or {})
    answer = stack.call("POST", f"/api/v1/executions/tests/{flow_id}{query}", body if inputs else None, content_type)
    assert answer.status == expect, answer.raw
    return answer.body


def test_a_run_by_hand_takes_its_inputs_as_a_form_and_its_labels_from_the_query(stack):
    register(stack, GREETER)
    created = run_by_hand(stack, "greeter", {"who": "Ada", "times": "3"}, "?labels=env:dev&labels=team:ops")
    assert (
        created["state"]["current"] == "CREATED" and "trigger" not in created and "kind" not in created
    )  # NORMAL, as Kestra writes it
    stack.drain()
    ran = stack.call("GET", f"/api/v1/executions/{created['id']}").body
    assert ran["state"]["current"] == "SUCCESS"
    assert ran["inputs"] == {"who": "Ada", "times": 3}  # typed as the flow declares them
    assert {(label["key"], label["value"]) for label in ran["labels"]} == {
        ("team", "ops"),
        ("env", "dev"),
        ("system.correlationId", ran["id"]),
    }
    lines = stack.call("GET", f"/api/v1/logs/{created['id']}").body
    assert [line["message"] for line in lines] == ["hello Ada x3", "debug line"]


def test_a_run_by_hand_takes_json_inputs_and_never_renders_them(stack):
    register(stack, GREETER)
    created = stack.call("POST", "/api/v1/executions/tests/greeter", {"who": "{{ flow.id }}"})
    assert created.status == 200, created.raw
    stack.drain()
    lines = stack.call("GET", f"/api/v1/logs/{created.body['id']}?minLevel=INFO").body
    assert [line["message"] for line in lines] == ["hello {{ flow.id }} x1"]


def test_a_run_by_hand_refuses_what_it_cannot_honour(stack):
    register(stack, GREETER)
    register(stack, SHELL)
    refusals = [
        ("greeter", {"who": "Ada", "age": "3"}, "", "inputs.age"),
        ("greeter", {}, "", "inputs.who"),  # required, no default
        ("greeter", {"who": "Ada", "times": "many"}, "", "inputs.times"),
        ("greeter", {"who": "Ada"}, "?labels=system.backfill:x", "system"),
        ("greeter", {"who": "Ada"}, "?labels=nocolon", "labels"),
        ("greeter", {"who": "Ada"}, "?wait=true", "wait"),
        ("greeter", {"who": "Ada"}, "?breakpoints=greet", "breakpoints"),
        ("greeter", {"who": "Ada"}, "?kind=TEST", "kind"),
        ("greeter", {"who": "Ada"}, "?revision=7", "revision"),
        ("shell", {"name": "x; rm -rf /"}, "", "inputs.name"),  # shell syntax a script would run
    ]
    for flow_id, inputs, query, field in refusals:
        body, content_type = multipart(inputs)
        answer = stack.call("POST", f"/api/v1/executions/tests/{flow_id}{query}", body, content_type)
        assert answer.status in (404, 422), (query, answer.raw)
        assert field in answer.message, (field, answer.message)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = stack.call("POST", f"/api/v1/executions/tests/greeter?scheduleDate={later}", {"who": "Ada"})
    assert answer.status == 422 and "scheduleDate" in answer.message
    assert stack.call("POST", "/api/v1/executions/tests/absent", {"who": "Ada"}).status == 404
    register(stack, GREETER.replace("labels:", "disabled: true\nlabels:").replace("id: greeter", "id: halted"))
    assert stack.call("POST", "/api/v1/executions/tests/halted", {"who": "Ada"}).status == 409
    assert stack.executions(namespace="tests") == []  # nothing was created by any refusal
    assert stack.queue_depth() == 0


def test_a_scheduled_run_waits_in_the_queue(stack):
    register(stack, GREETER)
    soon = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = run_by_hand(stack, "greeter", {"who": "Ada"}, f"?scheduleDate={soon}")
    assert created["scheduledDate"] == soon
    stack.drain()  # the message is not delivered before its date
    assert stack.call("GET", f"/api/v1/executions/{created['id']}").body["state"]["current"] == "CREATED"


def test_search_takes_every_kestra_parameter(stack):
    register(stack, GREETER)
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z"))
    by_hand = run_by_hand(stack, "greeter", {"who": "Ada"})
    stack.drain()

    def ids(query: str) -> list[str]:
        answer = stack.call("GET", f"/api/v1/executions/search?size=100&{query}")
        assert answer.status == 200, answer.raw
        return [e["id"] for e in answer.body["results"]]

    assert ids("flowId=greeter") == [by_hand["id"]]  # flowId without namespace
    assert ids("state=WARNING") == [] and len(ids("state=SUCCESS")) == 4
    assert ids("state=RESTARTED") == []
    assert ids(f"q={by_hand['id'][3:12]}") == [by_hand["id"]]
    assert ids("q=GREET") == [by_hand["id"]]  # any case, the flow id too
    assert len(ids("startDate=2000-01-01T00:00:00Z")) == 4 and ids("startDate=2999-01-01T00:00:00Z") == []
    assert ids("endDate=2000-01-01T00:00:00Z") == []
    every = ids("sort=id:asc")
    assert every == sorted(every)
    assert ids("sort=id:desc") == sorted(every, reverse=True)
    by_flow = stack.call("GET", "/api/v1/executions/search?sort=flowId:asc&sort=id:asc").body["results"]
    assert [e["flowId"] for e in by_flow] == ["greeter", "quick", "quick", "quick"]
    for field in ("namespace", "state.current", "state.endDate", "state.duration", "state.startDate"):
        assert len(ids(f"sort={field}:asc")) == 4
    for bad, field in [
        ("sort=color:asc", "sort"),
        ("sort=id:up", "sort"),
        ("startDate=2024-01-01T00:00:00", "startDate"),
    ]:
        answer = stack.call("GET", f"/api/v1/executions/search?{bad}")
        assert answer.status == 422 and field in answer.message, answer.raw


def test_logs_by_level_task_and_attempt_their_download_and_search(stack):
    register(stack, GREETER)
    created = run_by_hand(stack, "greeter", {"who": "Ada"})
    stack.drain()
    execution_id = created["id"]

    def messages(query: str) -> list[str]:
        answer = stack.call("GET", f"/api/v1/logs/{execution_id}{query}")
        assert answer.status == 200, answer.raw
        return [line["message"] for line in answer.body]

    assert messages("") == ["hello Ada x1", "debug line"]
    assert messages("?minLevel=INFO") == ["hello Ada x1"]
    assert messages("?minLevel=TRACE&taskId=quiet") == ["debug line"]
    assert messages("?attempt=1") == messages("") and messages("?attempt=2") == []
    task_run = stack.call("GET", f"/api/v1/executions/{execution_id}").body["taskRunList"][0]["id"]
    assert messages(f"?taskRunId={task_run}") == ["hello Ada x1"]
    assert stack.call("GET", f"/api/v1/logs/{execution_id}?minLevel=LOUD").status == 422

    text = stack.call("GET", f"/api/v1/logs/{execution_id}/download?minLevel=INFO")
    assert text.status == 200
    assert text.raw.endswith(" INFO hello Ada x1\n") and text.raw.count("\n") == 1
    assert stack.call("GET", "/api/v1/logs/0000000000000000000000/download").status == 404

    found = stack.call("GET", "/api/v1/logs/search?namespace=tests&minLevel=DEBUG&q=HELLO").body
    assert found["total"] == 1 and found["results"][0]["message"] == "hello Ada x1"
    every = stack.call("GET", "/api/v1/logs/search?flowId=greeter&sort=timestamp:asc&size=1").body
    assert every["total"] == 2 and [line["message"] for line in every["results"]] == ["hello Ada x1"]
    assert stack.call("GET", "/api/v1/logs/search?sort=colour:asc").status == 422


def test_delete_takes_an_ended_execution_its_logs_and_files_and_refuses_a_running_one(stack):
    register(stack, GREETER)
    waiting = run_by_hand(stack, "greeter", {"who": "Ada"})
    refused = stack.call("DELETE", f"/api/v1/executions/{waiting['id']}")
    assert refused.status == 409 and "kill" in refused.message
    stack.drain()
    answer = stack.call("DELETE", f"/api/v1/executions/{waiting['id']}")
    assert answer.status == 204 and answer.raw == ""
    assert stack.call("GET", f"/api/v1/executions/{waiting['id']}").status == 404
    assert stack.call("GET", f"/api/v1/logs/{waiting['id']}").status == 404
    remaining = stack.dynamodb.query(
        TableName=settings().executions_table,
        KeyConditionExpression="pk = :id",
        ExpressionAttributeValues={":id": {"S": waiting["id"]}},
    )
    assert remaining["Items"] == []
    assert stack.call("DELETE", f"/api/v1/executions/{waiting['id']}").status == 404


def test_kill_by_kestra_2_actions_route_goes_through_killing(stack):
    register(stack, GREETER)
    created = run_by_hand(stack, "greeter", {"who": "Ada"})
    answer = stack.call("DELETE", f"/api/v1/executions/{created['id']}/actions/kill")
    assert answer.status == 200 and answer.body["id"] == created["id"]
    stack.drain()
    killed = stack.call("GET", f"/api/v1/executions/{created['id']}").body
    assert killed["state"]["current"] == "KILLED"
    assert "KILLING" in [h["state"] for h in killed["state"]["histories"]]
    again = stack.call("DELETE", f"/api/v1/executions/{created['id']}/actions/kill")
    assert again.status == 409 and "finished" in again.message
    assert stack.call("DELETE", f"/api/v1/executions/{created['id']}/actions/kill?isOnKillCascade=false").status == 422


def test_replay_makes_a_new_execution_of_a_failed_backfill_slot(stack, marker):
    register(stack, restartable(str(marker)).replace("tasks:", TRIGGER + "tasks:"))
    stack.call("PUT", "/api/v1/triggers", backfill_body("restartable", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"))
    stack.drain()
    (failed,) = stack.executions(namespace="tests")
    assert failed["state"]["current"] == "FAILED"
    marker.touch()
    replayed = stack.call("POST", f"/api/v1/executions/{failed['id']}/replay")
    assert replayed.status == 200, replayed.raw
    assert replayed.body["id"] != failed["id"] and replayed.body["originalId"] == failed["id"]
    stack.drain()
    again = stack.call("GET", f"/api/v1/executions/{replayed.body['id']}").body
    assert again["state"]["current"] == "SUCCESS" and again["labels"] == failed["labels"]
    assert again["trigger"] == failed["trigger"] and again["trigger"]["variables"]["date"] == "2024-01-01T00:00:00Z"
    assert [t["taskId"] for t in again["taskRunList"]] == ["first", "check", "last"]
    assert stack.call("GET", f"/api/v1/executions/{failed['id']}").body["state"]["current"] == "FAILED"
    assert stack.call("POST", f"/api/v1/executions/{failed['id']}/actions/replay?taskRunId=x").status == 422
    assert stack.call("POST", "/api/v1/executions/0000000000000000000000/replay").status == 404


TRIGGER = """triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def test_restart_runs_the_same_execution_again_from_its_failed_task(stack, marker):
    register(stack, restartable(str(marker)))
    created = run_by_hand(stack, "restartable")
    assert stack.call("POST", f"/api/v1/executions/{created['id']}/restart").status == 409  # not ended yet
    stack.drain()
    failed = stack.call("GET", f"/api/v1/executions/{created['id']}").body
    assert failed["state"]["current"] == "FAILED"
    first_run = failed["taskRunList"][0]
    marker.touch()
    restarted = stack.call("POST", f"/api/v1/executions/{created['id']}/actions/restart")
    assert restarted.status == 200, restarted.raw
    assert restarted.body["state"]["current"] == "RESTARTED" and restarted.body["taskRunList"] == [first_run]
    stack.drain()
    ended = stack.call("GET", f"/api/v1/executions/{created['id']}").body
    assert ended["state"]["current"] == "SUCCESS"
    assert [t["taskId"] for t in ended["taskRunList"]] == ["first", "check", "last"]
    assert ended["taskRunList"][0] == first_run  # not run again
    assert [h["state"] for h in ended["state"]["histories"]][-4:] == ["FAILED", "RESTARTED", "RUNNING", "SUCCESS"]
    lines = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{created['id']}").body]
    assert lines.count("first") == 1 and lines.count("last") == 1
    succeeded = stack.call("POST", f"/api/v1/executions/{created['id']}/restart")
    assert succeeded.status == 422 and "No task" in succeeded.message


def events(raw: str) -> list[tuple[str, dict]]:
    found = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields["id"], json.loads(fields["data"])))
    return found


def test_follow_answers_kestras_events_up_to_the_current_state(stack, monkeypatch):
    register(stack, GREETER)
    created = run_by_hand(stack, "greeter", {"who": "Ada"})
    monkeypatch.setattr(stack.api_module.executions, "FOLLOW_SECONDS", 0.2)
    waiting = stack.call("GET", f"/api/v1/executions/{created['id']}/follow")
    assert waiting.status == 200
    assert [(kind, e["state"]["current"]) for kind, e in events(waiting.raw)] == [("progress", "CREATED")]
    stack.drain()
    ended = stack.call("GET", f"/api/v1/executions/{created['id']}/follow")
    assert [(kind, e["state"]["current"]) for kind, e in events(ended.raw)] == [("end", "SUCCESS")]
    assert stack.call("GET", "/api/v1/executions/0000000000000000000000/follow").status == 404


def test_a_run_by_hands_inputs_are_checked_again_when_its_flow_changed_before_it_ran(stack):
    """Its values are a caller's, as a backfill's: a flow revised between the call and the run to render them into
    a script does not run them as shell code."""
    register(stack, SHELL.replace("echo {{ inputs.name }}", "echo hello"))
    created = run_by_hand(stack, "shell", {"name": "x; touch /tmp/owned"})
    assert stack.call("PUT", "/api/v1/flows/tests/shell", SHELL, "application/x-yaml").status == 200
    stack.drain()
    ran = stack.call("GET", f"/api/v1/executions/{created['id']}").body
    assert ran["state"]["current"] == "FAILED"
    lines = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{created['id']}").body]
    assert any("inputs.name" in line and "shell syntax" in line for line in lines), lines
