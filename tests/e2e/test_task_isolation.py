"""The local stack runs flow code as AWS does, apart from the engine: a flow registered and backfilled over
HTTP cannot see the stack's credentials or settings, nor leave a process running after its task."""

import json
import re
import time
from pathlib import Path

import boto3
import requests

from local.moto_gate import carry_key
from local.stack import KEY_FILE

NAMESPACE = "e2e.isolation"
SLOT = "2024-01-01T00:00:00Z"
HUNT = [
    "env",
    "for f in /proc/[0-9]*/environ; do cat $f 2>/dev/null | tr '\\0' '\\n'; done",
    "cat $HOME/.aws/credentials 2>/dev/null || true",
    "setsid sleep 300 & echo daemon $!",
    "echo hunted",
]


def test_a_flow_on_the_local_stack_finds_no_credentials_and_leaves_no_process(local_stack):
    commands = "\n".join(f"      - {json.dumps(c)}" for c in HUNT)
    flow = f"""
id: hunter
namespace: {NAMESPACE}
tasks:
  - id: hunt
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
{commands}
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
    url = local_stack.url + "/api/v1"
    assert requests.post(f"{url}/flows", data=flow, headers={"Content-Type": "application/x-yaml"}).status_code == 200
    body = {"namespace": NAMESPACE, "flowId": "hunter", "triggerId": "hourly", "backfill": {"start": SLOT, "end": SLOT}}
    assert requests.put(f"{url}/triggers", json=body, timeout=10).status_code == 200
    started = time.monotonic()
    [execution] = local_stack.wait_for(
        lambda: local_stack.executions(namespace=NAMESPACE, state="SUCCESS"), timeout=60, what="the hunt to end"
    )
    assert time.monotonic() - started < 30  # the daemon holding the task's output did not hold the task
    lines = [line["message"] for line in requests.get(f"{url}/logs/{execution['id']}", timeout=10).json()]

    assert "hunted" in lines
    for clue in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "TRIGGERS_TABLE", "WORK_QUEUE_URL"):
        assert not any(clue in line for line in lines), (clue, [line for line in lines if clue in line])
    [pid] = [int(line.split()[1]) for line in lines if line.startswith("daemon ")]
    assert not alive(pid), f"process {pid} started by the flow is still running"


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_flow_on_the_local_stack_cannot_write_moto_or_call_the_task_runner(local_stack):
    """moto and the task runner listen on loopback; the flow finds their ports and gets 403s from both."""
    from tests.integration.test_task_isolation import FORGE

    flow = f"""
id: forger
namespace: {NAMESPACE}
tasks:
  - id: forge
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - {json.dumps(FORGE)}
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
    url = local_stack.url + "/api/v1"
    assert requests.post(f"{url}/flows", data=flow, headers={"Content-Type": "application/x-yaml"}).status_code == 200
    body = {"namespace": NAMESPACE, "flowId": "forger", "triggerId": "hourly", "backfill": {"start": SLOT, "end": SLOT}}
    assert requests.put(f"{url}/triggers", json=body, timeout=10).status_code == 200
    [execution] = local_stack.wait_for(
        lambda: local_stack.executions(namespace=NAMESPACE, flowId="forger", state="SUCCESS"),
        timeout=60,
        what="the forger to end",
    )
    lines = [line["message"] for line in requests.get(f"{url}/logs/{execution['id']}", timeout=10).json()]

    assert lines[-1].startswith("tried") and int(lines[-1].split()[1]) >= 3  # the API, moto, the task runner
    assert sum("answers only its own requests" in line for line in lines) >= 2, lines
    moto_url = re.search(r"moto \(DynamoDB, SQS\)\s+(\S+)", local_stack.output()).group(1)
    tables = boto3.client(
        "dynamodb", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    key = (local_stack.state_dir / KEY_FILE).read_text()
    carry_key(tables, key)
    forged = tables.get_item(TableName="TriggersTable", Key={"pk": {"S": "forged"}, "sk": {"S": "forged"}})
    assert "Item" not in forged
