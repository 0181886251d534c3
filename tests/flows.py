"""Flows the tests register besides the examples."""

QUICK = """
id: quick
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{ trigger.date }} of {{ flow.namespace }}.{{ flow.id }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""

SLOW = """
id: slow
namespace: tests
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 2
      - echo "done {{ trigger.date }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def backfill_body(flow_id: str, start: str, end: str, **extra) -> dict:
    return {
        "namespace": "tests",
        "flowId": flow_id,
        "triggerId": "every_hour",
        "backfill": {"start": start, "end": end, **extra},
    }


def ref(flow_id: str) -> dict:
    return {"namespace": "tests", "flowId": flow_id, "triggerId": "every_hour"}


def flaky(marker: str) -> str:
    """A flow whose odd-hour slots fail until the file `marker` exists."""
    return f"""
id: flaky
namespace: tests
tasks:
  - id: check
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - test -e '{marker}' || case "{{{{ trigger.date }}}}" in *T0[13579]:* | *T1[13579]:*) exit 3;; esac
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def sleeper(seconds: int) -> str:
    return f"""
id: sleeper
namespace: tests
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep {seconds}
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
