"""A backfill of a flow built of Kestra's flowable tasks (ForEach, If, Switch, Parallel, Sequential) and its
control tasks (Sleep, Fail), run end to end through the executor and read back as Kestra's execution JSON; and
an executor that dies inside a ForEach, whose slot resumes as the same execution."""

import time

import pytest

from backfill_core.flows import task_run as task_run_module
from tests.flows import backfill_body
from tests.harness import ExecutorDied
from tests.integration.test_flow_semantics import ONE_SLOT, register_and_backfill

FLOWABLES = """
id: fanout
namespace: tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["eu", "us"]
    tasks:
      - id: part
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}-{{ trigger.date | date('yyyy-MM-dd') }}"
      - id: big
        type: io.kestra.plugin.core.flow.If
        condition: "{{ taskrun.value == 'us' }}"
        then:
          - id: note
            type: io.kestra.plugin.core.log.Log
            message: "large region {{ parent.taskrun.value }}"
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.01S
      - id: pick
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ outputs.part['eu'].value }}"
        cases:
          eu-2024-01-01:
            - id: matched
              type: io.kestra.plugin.core.debug.Return
              format: matched
        defaults:
          - id: unmatched
            type: io.kestra.plugin.core.execution.Fail
  - id: guard
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ outputs.matched.value != 'matched' }}"
outputs:
  - id: us
    type: STRING
    value: "{{ outputs.part['us'].value }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def test_a_backfilled_flow_of_flowables_runs_as_kestra_runs_it(stack):
    execution = register_and_backfill(stack, FLOWABLES, "fanout")

    assert execution["state"]["current"] == "SUCCESS", execution
    runs = execution["taskRunList"]
    by_id = {task_run["id"]: task_run for task_run in runs}
    assert [task_run["taskId"] for task_run in runs] == [
        "each", "part", "big", "part", "big", "note", "both", "nap", "pick", "matched", "guard",
    ]  # fmt: skip
    parts = [task_run for task_run in runs if task_run["taskId"] == "part"]
    assert [(p["value"], by_id[p["parentTaskRunId"]]["taskId"], p["outputs"]["value"]) for p in parts] == [
        ("eu", "each", "eu-2024-01-01"), ("us", "each", "us-2024-01-01"),
    ]  # fmt: skip
    note = next(task_run for task_run in runs if task_run["taskId"] == "note")
    assert by_id[note["parentTaskRunId"]]["outputs"] == {"evaluationResult": True}
    assert execution["outputs"] == {"us": "us-2024-01-01"}
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    assert ("note", "large region us") in [(line["taskId"], line["message"]) for line in logs]


def test_a_flow_whose_nested_task_reuses_an_id_is_refused_naming_its_path(stack):
    source = FLOWABLES.replace("- id: note", "- id: guard")

    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")

    assert answer.status == 422
    assert "tasks[guard].id: task id 'guard' is used twice" in answer.message


def test_an_executor_dying_inside_a_for_each_resumes_the_same_execution_once(crashable, monkeypatch):
    stack = crashable
    assert stack.call("POST", "/api/v1/flows", FLOWABLES, "application/x-yaml").status == 200
    real, calls = task_run_module.run_task, {"n": 0}

    def dies_on_the_second_value(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # `note`, inside the If inside the ForEach, for its second value
            raise ExecutorDied()
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", dies_on_the_second_value)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("fanout", *ONE_SLOT)).status == 200
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    time.sleep(1.2)  # the message comes back after the visibility timeout, the lease has run out
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="fanout")
    assert execution["attempt"] == 2
    assert execution["state"]["current"] == "SUCCESS"
    assert [task_run["value"] for task_run in execution["taskRunList"] if task_run["taskId"] == "part"] == ["eu", "us"]
    assert stack.queue_depth() == 0
