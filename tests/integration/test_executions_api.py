"""Executions and logs: search filters and paging, one execution, its logs, failures the user can read."""

from tests.flows import QUICK, backfill_body

FAILING = """
id: failing
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - echo "about to fail on {{ trigger.date }}" >&2
      - exit 3
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: should not run
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""

UNKNOWN_VARIABLE = """
id: typo
namespace: tests
inputs:
  - id: who
    type: STRING
    required: false
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.who }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def run_backfill(stack, flow_yaml, flow_id, start, end, **extra):
    assert stack.call("POST", "/api/v1/flows", flow_yaml, "application/x-yaml").status == 200
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, start, end, **extra))
    assert answer.status == 200, answer.raw
    stack.drain()


def test_search_filters_and_pages(stack):
    run_backfill(
        stack, QUICK, "quick", "2024-01-01T00:00:00Z", "2024-01-01T04:00:00Z", labels={"team": "data", "run": "1"}
    )
    run_backfill(stack, FAILING, "failing", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")

    assert len(stack.executions(namespace="tests")) == 7
    assert len(stack.executions(namespace="tests", flowId="quick")) == 5
    assert len(stack.executions(namespace="tests", state="FAILED")) == 2
    assert len(stack.executions(namespace="tests", labels="team:data")) == 5
    assert len(stack.executions(namespace="tests", labels="team:other")) == 0
    assert len(stack.executions(namespace="te")) == 0  # a namespace prefix matches whole segments only
    assert len(stack.executions(namespace="dev")) == 0

    page1 = stack.call("GET", "/api/v1/executions/search?namespace=tests&flowId=quick&page=1&size=2").body
    page3 = stack.call("GET", "/api/v1/executions/search?namespace=tests&flowId=quick&page=3&size=2").body
    assert page1["total"] == page3["total"] == 5
    assert len(page1["results"]) == 2 and len(page3["results"]) == 1
    ids = {e["id"] for e in page1["results"]} | {e["id"] for e in page3["results"]}
    assert len(ids) == 3

    bad = stack.call("GET", "/api/v1/executions/search?state=DONE")
    assert bad.status == 422 and "state" in bad.message
    bad = stack.call("GET", "/api/v1/executions/search?labels=nocolon")
    assert bad.status == 422 and "labels" in bad.message
    bad = stack.call("GET", "/api/v1/executions/search?page=0")
    assert bad.status == 422 and "page" in bad.message
    bad = stack.call("GET", "/api/v1/executions/search?size=ten")
    assert bad.status == 422 and "size" in bad.message


def test_a_failing_command_fails_the_execution_and_stops_the_tasks(stack):
    run_backfill(stack, FAILING, "failing", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    (execution,) = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "FAILED"
    assert [t["taskId"] for t in execution["taskRunList"]] == ["first"]
    assert execution["taskRunList"][0]["outputs"]["exitCode"] == 3

    fetched = stack.call("GET", f"/api/v1/executions/{execution['id']}")
    assert fetched.status == 200 and fetched.body["id"] == execution["id"]
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert ("WARN", "about to fail on 2024-01-01T00:00:00Z") in [(line["level"], line["message"]) for line in logs]
    assert any(line["level"] == "ERROR" and "exit code 3" in line["message"] for line in logs)
    assert all(line["taskId"] == "first" for line in logs)


def test_an_unknown_variable_fails_the_task_with_a_log_naming_it(stack):
    run_backfill(stack, UNKNOWN_VARIABLE, "typo", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    (execution,) = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "FAILED"
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert any("inputs.who" in line["message"] and line["level"] == "ERROR" for line in logs)


def test_backfill_inputs_reach_the_tasks(stack):
    run_backfill(stack, UNKNOWN_VARIABLE, "typo", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", inputs={"who": "Ada"})
    (execution,) = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["inputs"] == {"who": "Ada"}
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert [line["message"] for line in logs] == ["hello Ada"]


def test_unknown_execution_and_logs_are_404(stack):
    for path in ("/api/v1/executions/nope", "/api/v1/logs/nope"):
        answer = stack.call("GET", path)
        assert answer.status == 404
        assert "nope" in answer.message
