"""pluginDefaults are merged as Kestra merges them before a flow is checked and run; a task timeout longer than
one executor invocation can give is refused at registration."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.budget import over_budget
from backfill_core.flows.model import parse_flow
from backfill_core.flows.yaml_text import load_yaml

HEAD = "id: f\nnamespace: tests\n"
TASKS = """tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: loud
    type: io.kestra.plugin.core.log.Log
    message: hi
    level: ERROR
  - id: run
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ['true']
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: '0 6 * * *'
"""


def test_a_default_fills_what_a_task_leaves_out_and_a_forced_one_wins():
    flow = parse_flow(
        HEAD
        + TASKS
        + """pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: WARN
  - type: io.kestra.plugin.scripts
    forced: true
    values:
      env: {REGION: eu}
  - type: io.kestra.plugin.core.trigger.Schedule
    values:
      timezone: Europe/Paris
"""
    )
    say, loud, run = flow.tasks
    assert say.properties()["level"] == "WARN"  # left out: the default
    assert loud.properties()["level"] == "ERROR"  # given: the task's own
    assert run.properties()["env"] == {"REGION": "eu"}  # a package name applies to the types in it
    assert flow.triggers[0].timezone == "Europe/Paris"


def test_kestras_older_name_task_defaults_is_the_same():
    flow = parse_flow(
        HEAD + TASKS + "taskDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values: {level: DEBUG}\n"
    )
    assert flow.tasks[0].properties()["level"] == "DEBUG"


@pytest.mark.parametrize(
    ("defaults", "named"),
    [
        ("  - type: io.kestra.plugin.core.log.Log\n    values: {level: LOUD}\n", "level: must be one of"),
        (
            "  - type: io.kestra.plugin.core.log.Log\n    values: {logToFile: true}\n",
            "tasks[0].logToFile: not supported yet",
        ),
        ("  - values: {level: WARN}\n", "pluginDefaults[0].type: the task or trigger type"),
        (
            "  - type: io.kestra.plugin.core.log.Log\n    value: {level: WARN}\n",
            "pluginDefaults[0].value: not a property",
        ),
    ],
)
def test_what_a_default_brings_is_checked_like_the_tasks_own_values(defaults, named):
    with pytest.raises(Invalid) as refused:
        parse_flow(HEAD + TASKS + "pluginDefaults:\n" + defaults)
    assert named in refused.value.message


def test_a_task_timeout_past_what_one_invocation_gives_is_named_with_its_path():
    document = load_yaml(
        HEAD + TASKS.replace("    commands: ['true']\n", "    commands: ['true']\n    timeout: PT2H\n")
    )
    assert over_budget(document, 100) == [
        "tasks[2].timeout: PT2H is longer than the 100 seconds a task may run in one executor invocation "
        "(TASK_TIMEOUT_SECONDS); split the work or raise the setting"
    ]
    assert over_budget(document, 7200) == []
