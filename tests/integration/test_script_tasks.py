"""Kestra's script tasks through the executor and the local task runner: shell and Python Scripts with
beforeCommands, inputFiles and Kestra.outputs reaching later tasks, and caller data that stays data."""

import json

import pytest

from tests.flows import backfill_body
from tests.harness import logs_of

SLOT = "2024-01-01T00:00:00Z"
HOSTILE = ["$(touch pwned)", '"; rm -rf ~ #', "__import__('os').system('touch pwned')", "{{ 7*7 }}"]
TRIGGER = """
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
INPUTS = "inputs:\n" + "".join(
    f"  - id: i{n}\n    type: STRING\n    required: false\n    defaults: plain\n" for n in range(len(HOSTILE))
)


def register(stack, source: str) -> None:
    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert answer.status == 200, answer.raw


def test_python_and_shell_scripts_run_in_the_task_runner_and_their_outputs_reach_later_tasks(stack):
    register(
        stack,
        """
id: scripts
namespace: tests
tasks:
  - id: count
    type: io.kestra.plugin.scripts.python.Script
    beforeCommands:
      - echo "preparing {{ trigger.date | date('yyyy-MM-dd') }}"
    inputFiles:
      rows.csv: "a\\nb\\nc\\n"
    warningOnStdErr: false
    script: |
      from kestra import Kestra
      with open("rows.csv") as rows:
          n = len(rows.read().split())
      print(f"counted {n}")
      Kestra.outputs({"n": n})
  - id: double
    type: io.kestra.plugin.scripts.shell.Script
    script: |
      echo "::{\\"outputs\\": {\\"twice\\": $(( {{ outputs.count.vars.n }} * 2 ))}}::"
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "n={{ outputs.count.vars.n }} twice={{ outputs.double.vars.twice }}"
"""
        + TRIGGER,
    )
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("scripts", SLOT, SLOT)).status == 200
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="scripts")
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    assert logs == ["preparing 2024-01-01", "counted 3", "n=3 twice=6"]
    outputs = {run["taskId"]: run.get("outputs") for run in execution["taskRunList"]}
    assert outputs["count"] == {"vars": {"n": 3}, "exitCode": 0}


PASTED = (
    """
id: pasted
namespace: tests
"""
    + INPUTS
    + """tasks:
  - id: shell
    type: io.kestra.plugin.scripts.shell.Script
    script: echo "{{ inputs.i0 }}"
  - id: python
    type: io.kestra.plugin.scripts.python.Script
    script: print("{{ labels.why }}")
"""
    + TRIGGER
)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_caller_values_pasted_into_a_shell_or_python_script_are_refused_and_create_nothing(stack, value):
    register(stack, PASTED)

    into_shell = stack.call("PUT", "/api/v1/triggers", backfill_body("pasted", SLOT, SLOT, inputs={"i0": value}))
    into_python = stack.call("PUT", "/api/v1/triggers", backfill_body("pasted", SLOT, SLOT, labels={"why": value}))

    assert into_shell.status == 422 and into_shell.message.startswith("backfill.inputs.i0: the value holds shell")
    assert into_python.status == 422 and into_python.message.startswith("backfill.labels.why: the value holds Python")
    assert stack.call("GET", "/api/v1/backfills?namespace=tests").body["total"] == 0
    assert stack.queue_depth() == 0


def test_hostile_caller_values_through_env_reach_shell_and_python_scripts_as_data_never_run_or_rendered(stack):
    env = "".join(f"      I{n}: '{{{{ inputs.i{n} }}}}'\n      L{n}: '{{{{ labels.l{n} }}}}'\n" for n in range(4))
    register(
        stack,
        """
id: as_data
namespace: tests
"""
        + INPUTS
        + f"""tasks:
  - id: shell
    type: io.kestra.plugin.scripts.shell.Script
    env:
{env}    script: |
      for name in I0 L0 I1 L1 I2 L2 I3 L3; do printenv "$name"; done
      if [ -e pwned ]; then echo PWNED; else echo clean; fi
  - id: python
    type: io.kestra.plugin.scripts.python.Script
    env:
{env}    script: |
      import os
      for n in range(4):
          print(os.environ[f"I{{n}}"])
          print(os.environ[f"L{{n}}"])
      print("PWNED" if os.path.exists("pwned") else "clean")
"""
        + TRIGGER,
    )
    inputs = {f"i{n}": value for n, value in enumerate(HOSTILE)}
    labels = {f"l{n}": value for n, value in enumerate(HOSTILE)}
    body = backfill_body("as_data", SLOT, SLOT, inputs=inputs, labels=labels)
    answer = stack.call("PUT", "/api/v1/triggers", body)
    assert answer.status == 200, answer.raw
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="as_data")
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    each_twice = [value for value in HOSTILE for _ in range(2)]
    assert logs == [*each_twice, "clean", *each_twice, "clean"], json.dumps(logs)
    assert "49" not in logs
