"""The local stack keeps its state across a restart: killed mid-backfill (SIGKILL, nothing saved on the
way out) and started again on the same state directory, it carries the backfill on with every slot run
once; a registered flow and a finished backfill are still there; `--fresh` forgets them and says so."""

import re
import subprocess
import sys
from collections import Counter

import requests

from local.stack import free_port
from tests.e2e.conftest import ROOT, RunningStack

NAMESPACE = "e2e.restart"
SLOTS = [f"2024-01-01T{h:02d}:00:00Z" for h in range(20)]


def flow(flow_id: str, commands: list[str]) -> str:
    lines = "\n".join(f"      - {command}" for command in commands)
    return f"""
id: {flow_id}
namespace: {NAMESPACE}
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
{lines}
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def register(stack: RunningStack, source: str) -> None:
    answer = requests.post(
        f"{stack.url}/api/v1/flows", data=source, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert answer.status_code == 200, answer.text


def backfill(stack: RunningStack, flow_id: str, end: str, concurrency: int = 1) -> dict:
    body = {
        "namespace": NAMESPACE,
        "flowId": flow_id,
        "triggerId": "hourly",
        "backfill": {"start": SLOTS[0], "end": end, "concurrency": concurrency},
    }
    answer = requests.put(f"{stack.url}/api/v1/triggers", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["backfill"]


def succeeded(stack: RunningStack, backfill_id: str, timeout: float) -> dict:
    return stack.wait_for(
        lambda: (b := stack.get(f"/api/v1/backfills/{backfill_id}"))["status"] == "SUCCEEDED" and b,
        timeout=timeout,
        what=f"backfill {backfill_id} to succeed",
    )


def restarted(before: RunningStack, *args: str) -> RunningStack:
    log = before.log_path.with_name(f"restart-{len(list(before.log_path.parent.glob('*.log')))}.log")
    return RunningStack(before.port, log, *args, state_dir=before.state_dir)


def test_sigkill_mid_backfill_then_restart_runs_every_slot_once(tmp_path):
    stack = RunningStack(free_port(), tmp_path / "stack.log")
    try:
        register(stack, flow("sleepy", ['echo "ran {{ trigger.date }}"', "sleep 0.3"]))
        started = backfill(stack, "sleepy", SLOTS[-1], concurrency=2)
        stack.wait_for(
            lambda: stack.get(f"/api/v1/backfills/{started['id']}")["succeeded"] >= 4, 60, "4 slots to succeed"
        )
    finally:
        stack.kill()

    stack = restarted(stack)
    try:
        assert "resumed 3 flows, 1 backfills (1 running)" in stack.output(), stack.output()
        done = succeeded(stack, started["id"], timeout=120)
        assert (done["succeeded"], done["failed"]) == (20, 0)

        executions = stack.backfills(namespace=NAMESPACE, flowId="sleepy")
        per_slot = Counter(e["trigger"]["variables"]["date"] for e in executions)
        assert per_slot == Counter(SLOTS)  # each slot once: none lost, none doubled
        assert {e["state"]["current"] for e in executions} == {"SUCCESS"}
        retried = 0
        for execution in executions:
            lines = [
                line["attemptNumber"]
                for line in stack.get(f"/api/v1/logs/{execution['id']}")
                if line["message"] == f"ran {execution['trigger']['variables']['date']}"
            ]
            assert max(Counter(lines).values()) == 1, (execution["id"], lines)  # once per attempt
            retried += max(lines) > 1  # ran again as attempt 2 (attempt 1 may have died before logging)
        assert retried <= 2  # at most the two slots running at the kill ran again, as their attempt 2
    finally:
        stack.interrupt()


def test_restart_keeps_flow_and_finished_backfill_and_fresh_forgets(tmp_path):
    stack = RunningStack(free_port(), tmp_path / "stack.log")
    try:
        assert "fresh (nothing saved there before)" in stack.output()
        register(stack, flow("kept", ['echo "kept {{ trigger.date }}"']))
        finished = succeeded(stack, backfill(stack, "kept", SLOTS[2])["id"], timeout=60)

        second = subprocess.run(  # a second stack on the same state would corrupt it: refused
            [sys.executable, "-m", "local", "--port", str(free_port()), "--state-dir", str(stack.state_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1 and "in use by another local stack" in second.stderr, second
    finally:
        assert stack.interrupt() == 0

    stack = restarted(stack)
    try:
        assert "resumed 3 flows, 1 backfills (0 running), 3 executions" in stack.output(), stack.output()
        assert stack.get(f"/api/v1/flows/{NAMESPACE}/kept")["id"] == "kept"
        after = stack.get(f"/api/v1/backfills/{finished['id']}")
        assert after | {"slotsPerMinute": None} == finished | {"slotsPerMinute": None}  # a rate: time moved on
        assert len(stack.backfills(namespace=NAMESPACE)) == 3
        for namespace in ("dev", "company.team"):  # the example flows loaded again at start are kept as they were
            flows = stack.get(f"/api/v1/flows/{namespace}")
            assert [(f["id"], f["revision"]) for f in flows] == [("scheduled_flow", 1)]
    finally:
        stack.kill()

    (fresh,) = re.findall(r"```sh\n(.*--fresh)\n```", (ROOT / "README.md").read_text())
    program, *args = fresh.split()  # the README's line, on this test's port and state directory
    assert (ROOT / program).samefile(sys.executable) and args == ["-m", "local", "--fresh"], fresh
    stack = restarted(stack, "--fresh")
    try:
        assert "FRESH START (--fresh): the earlier state was deleted" in stack.output(), stack.output()
        missing = requests.get(f"{stack.url}/api/v1/flows/{NAMESPACE}/kept", timeout=10)
        assert missing.status_code == 404
        assert stack.executions(namespace=NAMESPACE) == []
    finally:
        stack.interrupt()
