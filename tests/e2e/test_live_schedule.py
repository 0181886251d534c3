"""The live schedule on the local stack: executions appear on their own, on the cron, without any call."""

import requests

from backfill_core.schedules.kestra_time import parse_instant
from tests.e2e.conftest import start_stack
from tests.harness import run_kind

EVERY_FIVE_SECONDS = """
id: heartbeat
namespace: live
tasks:
  - id: beat
    type: io.kestra.plugin.core.log.Log
    message: "beat {{ trigger.date }}"
triggers:
  - id: cron
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/5 * * * * *"
    withSeconds: true
"""


def test_a_scheduled_flow_runs_on_its_own(tmp_path_factory):
    # The scheduler ticks every 5 s here instead of every minute, so the test needs no minute of waiting.
    stack = start_stack(tmp_path_factory, None, "--scheduler-interval", "5")
    try:
        response = requests.post(
            f"{stack.url}/api/v1/flows",
            data=EVERY_FIVE_SECONDS,
            headers={"Content-Type": "application/x-yaml"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        found = stack.wait_for(
            lambda: (runs := stack.executions(namespace="live", state="SUCCESS")) and len(runs) >= 3 and runs,
            timeout=40,
            what="three live executions",
        )
        dates = sorted(parse_instant(e["trigger"]["variables"]["date"]) for e in found)
        assert all(run_kind(e) == "schedule" for e in found)
        assert all(d.second % 5 == 0 for d in dates)
        assert len(set(dates)) == len(dates)
        context = stack.get("/api/v1/triggers/search", namespace="live")["results"][0]["triggerContext"]
        assert parse_instant(context["date"]) >= dates[-1]
    finally:
        assert stack.interrupt() == 0


EVERY_MINUTE = """
id: minutely
namespace: live
tasks:
  - id: beat
    type: io.kestra.plugin.core.log.Log
    message: "minute {{ trigger.date }}"
triggers:
  - id: cron
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""


def test_a_flow_on_every_minute_runs_each_minute_with_the_default_scheduler(tmp_path_factory):
    stack = start_stack(tmp_path_factory)
    try:
        response = requests.post(
            f"{stack.url}/api/v1/flows", data=EVERY_MINUTE, headers={"Content-Type": "application/x-yaml"}, timeout=10
        )
        assert response.status_code == 200, response.text
        found = stack.wait_for(
            lambda: (runs := stack.executions(namespace="live", state="SUCCESS")) and len(runs) >= 2 and runs,
            timeout=150,
            what="two executions a minute apart",
        )
        first, second = sorted(parse_instant(e["trigger"]["variables"]["date"]) for e in found)[:2]
        assert (second - first).total_seconds() == 60
        assert first.second == 0
    finally:
        assert stack.interrupt() == 0
