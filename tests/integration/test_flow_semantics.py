"""A backfill of a flow that uses Kestra's outputs, retries, allowFailure, disabled tasks, errors, finally,
variables and labels, run end to end through the executor and the task runner, read back as Kestra's JSON."""

import time

import pytest

from backfill_core.flows import task_run as task_run_module
from tests.flows import backfill_body
from tests.harness import ExecutorDied

ONE_SLOT = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
PROCESS = "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"

PIPELINE = f"""
id: pipeline
namespace: tests
labels:
  team: data
  tier: gold
variables:
  table: events
tasks:
  - id: extract
    type: io.kestra.plugin.scripts.shell.Commands
{PROCESS}    commands:
      - if [ "{{{{ taskrun.attemptsCount }}}}" -lt 1 ]; then exit 1; fi
      - |-
        echo '::{{"outputs": {{"rows": 7}}}}::'
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 3
  - id: optional
    type: io.kestra.plugin.scripts.shell.Commands
{PROCESS}    commands: ["exit 2"]
    allowFailure: true
  - id: skipped
    type: io.kestra.plugin.core.log.Log
    message: never
    disabled: true
  - id: report
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ vars.table }}}}:{{{{ outputs.extract.vars.rows }}}}"
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaned up
outputs:
  - id: rows
    type: INT
    value: "{{{{ outputs.extract.vars.rows }}}}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""

FAILS_WITH_HANDLER = """
id: handled
namespace: tests
tasks:
  - id: load
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.missing }}"
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: "load failed for {{ trigger.date }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def register_and_backfill(stack, source: str, flow_id: str, **backfill) -> dict:
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, *ONE_SLOT, **backfill))
    assert answer.status == 200, answer.raw
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId=flow_id)
    fetched = stack.call("GET", f"/api/v1/executions/{execution['id']}")
    assert fetched.status == 200
    return fetched.body


def test_a_backfilled_execution_carries_outputs_attempts_and_labels_as_kestra_shows_them(stack):
    execution = register_and_backfill(stack, PIPELINE, "pipeline", labels={"team": "ops"})

    assert execution["state"]["current"] == "WARNING"  # `optional` failed, allowed to
    runs = {task_run["taskId"]: task_run for task_run in execution["taskRunList"]}
    assert list(runs) == ["extract", "optional", "report", "cleanup"]
    assert [attempt["state"]["current"] for attempt in runs["extract"]["attempts"]] == ["FAILED", "SUCCESS"]
    assert runs["extract"]["state"]["current"] == "SUCCESS"
    assert runs["extract"]["outputs"] == {"vars": {"rows": 7}, "exitCode": 0}
    assert (runs["optional"]["state"]["current"], runs["optional"]["outputs"]["exitCode"]) == ("WARNING", 2)
    assert runs["report"]["outputs"] == {"value": "events:7"}
    assert execution["outputs"] == {"rows": 7}
    assert {(label["key"], label["value"]) for label in execution["labels"]} == {
        ("tier", "gold"),
        ("team", "ops"),
        ("system.backfill", "true"),
        ("system.correlationId", execution["id"]),
    }
    assert len(stack.executions(namespace="tests", labels="tier:gold")) == 1
    progress = stack.call("GET", f"/api/v1/backfills/{execution['backfillId']}").body
    assert (progress["counts"]["SUCCEEDED"], progress["counts"]["FAILED"]) == (1, 0)  # a WARNING is a success


def test_errors_run_when_a_task_fails_and_the_execution_still_fails(stack):
    execution = register_and_backfill(stack, FAILS_WITH_HANDLER, "handled")

    assert execution["state"]["current"] == "FAILED"
    assert [task_run["taskId"] for task_run in execution["taskRunList"]] == ["load", "alert"]
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert ("alert", "ERROR", "load failed for 2024-01-01T00:00:00Z") in [
        (line["taskId"], line["level"], line["message"]) for line in logs
    ]


def test_a_retry_that_would_start_a_new_execution_is_refused_at_registration(stack):
    source = PIPELINE.replace("      maxAttempts: 3\n", "      maxAttempts: 3\n      behavior: CREATE_NEW_EXECUTION\n")

    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")

    assert answer.status == 422
    assert answer.message.startswith("tasks[extract].retry.behavior: CREATE_NEW_EXECUTION is not supported")


def test_an_executor_dying_during_a_retry_resumes_the_same_execution(crashable, monkeypatch):
    stack = crashable
    assert stack.call("POST", "/api/v1/flows", PIPELINE, "application/x-yaml").status == 200
    real, calls = task_run_module.run_task, {"n": 0}

    def dies_on_the_retry(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second attempt of `extract`
            raise ExecutorDied()
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", dies_on_the_retry)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("pipeline", *ONE_SLOT)).status == 200
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    time.sleep(1.2)  # the message comes back after the visibility timeout, the lease has run out
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="pipeline")
    assert execution["attempt"] == 2
    assert execution["state"]["current"] == "WARNING"
    extract = execution["taskRunList"][0]
    assert [attempt["state"]["current"] for attempt in extract["attempts"]] == ["FAILED", "SUCCESS"]
    assert stack.queue_depth() == 0
