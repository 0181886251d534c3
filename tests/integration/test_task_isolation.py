"""Flow code runs apart from the engine: a flow's commands, in the task runner process, cannot read or use
the engine's credentials, nor leave a process behind. Each test is an attack a flow author could write."""

import json
import os
import threading
import time

from tests.flows import backfill_body

SLOT = "2024-01-01T00:00:00Z"


def commands_flow(flow_id: str, *commands: str, env: dict[str, str] | None = None) -> str:
    listed = "\n".join(f"      - {json.dumps(command)}" for command in commands)  # JSON strings are YAML
    env_lines = "".join(f"\n      {k}: {json.dumps(v)}" for k, v in (env or {}).items())
    return f"""
id: {flow_id}
namespace: tests
tasks:
  - id: attack
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process{chr(10) + "    env:" + env_lines if env else ""}
    commands:
{listed}
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def run_one_slot(stack, flow_yaml: str, flow_id: str) -> tuple[dict, list[str]]:
    answer = stack.call("POST", "/api/v1/flows", flow_yaml, "application/x-yaml")
    assert answer.status == 200, answer.raw
    assert stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, SLOT, SLOT)).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId=flow_id)
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    return execution, [line["message"] for line in logs]


def engine_secrets() -> list[str]:
    """What the engine holds that a flow must never see: its credentials and where its tables and queue are."""
    return [
        os.environ["AWS_SECRET_ACCESS_KEY"],
        os.environ["TRIGGERS_TABLE"],
        os.environ["WORK_QUEUE_URL"],
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
    ]


def test_flow_env_shows_none_of_the_engines_credentials_or_settings(stack):
    execution, lines = run_one_slot(stack, commands_flow("printenv", "env"), "printenv")

    assert execution["state"]["current"] == "SUCCESS"
    assert lines, "env printed nothing"
    for secret in engine_secrets():
        assert not any(secret in line for line in lines), secret


def test_flow_reading_every_proc_environ_finds_no_engine_credentials(stack):
    execution, lines = run_one_slot(
        stack,
        commands_flow(
            "procenv",
            "for f in /proc/[0-9]*/environ; do cat $f 2>/dev/null | tr '\\0' '\\n'; done; echo read-all",
        ),
        "procenv",
    )

    assert execution["state"]["current"] == "SUCCESS"
    assert "read-all" in lines
    for secret in engine_secrets():
        assert not any(secret in line for line in lines), secret


def test_flow_finds_no_credentials_or_endpoint_to_write_the_engines_tables_with(stack):
    """Every AWS write needs a signature: with no keys anywhere it can look (its environment, every process's,
    a credentials file) and no endpoint for the tables, a flow has nothing to write them with."""
    hunt = (
        "env; cat $HOME/.aws/credentials /root/.aws/credentials 2>/dev/null || true; "
        "for f in /proc/[0-9]*/environ; do cat $f 2>/dev/null | tr '\\0' '\\n'; done; echo hunted"
    )
    execution, lines = run_one_slot(stack, commands_flow("hunter", hunt), "hunter")

    assert execution["state"]["current"] == "SUCCESS"
    assert "hunted" in lines
    clues = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "aws_secret_access_key")
    for clue in (*clues, "AWS_ENDPOINT_URL", "EXECUTIONS_TABLE", "TRIGGERS_TABLE", "LOCAL_STACK_KEY"):
        assert not any(clue in line for line in lines), clue


FORGE = (
    "tail -n +2 /proc/net/tcp | while read -r _ address _ status _; do "
    '[ "$status" = 0A ] && echo $((0x${address##*:})); done | sort -u > ports; '
    "while read -r port; do "
    "curl -s -m 3 -X POST -H 'X-Amz-Target: DynamoDB_20120810.PutItem' "
    "-H 'Content-Type: application/x-amz-json-1.0' "
    "-H 'Authorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=x' "
    '--data \'{"TableName": "TriggersTable", "Item": {"pk": {"S": "forged"}, "sk": {"S": "forged"}}}\' '
    "http://127.0.0.1:$port/ || true; echo; "
    "curl -s -m 3 -X POST --data '{}' http://127.0.0.1:$port/2015-03-31/functions/TaskRunnerFunction/invocations "
    "|| true; echo; done < ports; echo tried $(wc -l < ports) ports"
)


def test_flow_writing_to_every_loopback_port_reaches_neither_the_tables_nor_the_task_runner(stack):
    """The tests' moto (behind which the in-process tables live) and the task runner listen on loopback, as the
    local stack's do; a flow that finds their ports gets 403s, and no forged item lands."""
    execution, lines = run_one_slot(stack, commands_flow("forger", FORGE), "forger")

    assert execution["state"]["current"] == "SUCCESS", lines
    assert lines[-1].startswith("tried") and int(lines[-1].split()[1]) >= 2
    assert any("answers only its own requests" in line for line in lines), lines
    forged = stack.dynamodb.get_item(TableName="TriggersTable", Key={"pk": {"S": "forged"}, "sk": {"S": "forged"}})
    assert "Item" not in forged


def test_a_setsid_daemon_does_not_outlive_its_task(stack):
    started = time.monotonic()
    execution, lines = run_one_slot(
        stack,
        # The daemon keeps the task's stdout open: the task must still end promptly, and take the daemon along.
        commands_flow("daemon", "setsid sleep 300 & echo daemon $!", "echo started"),
        "daemon",
    )

    assert execution["state"]["current"] == "SUCCESS"
    assert time.monotonic() - started < 30
    [pid] = [int(line.split()[1]) for line in lines if line.startswith("daemon ")]
    assert not _alive(pid), f"process {pid} started by the flow is still running"


def test_a_double_forked_daemon_does_not_outlive_its_task(stack):
    execution, lines = run_one_slot(
        stack,
        commands_flow(
            "double", "(setsid sh -c 'echo pid $$; exec sleep 300' > daemon.log 2>&1 &)", "sleep 1", "cat daemon.log"
        ),
        "double",
    )

    assert execution["state"]["current"] == "SUCCESS"
    [pid] = [int(line.split()[1]) for line in lines if line.startswith("pid ")]
    assert not _alive(pid), f"process {pid} started by the flow is still running"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_command_over_128_kb_runs_as_a_task_not_as_an_executor_crash(stack):
    execution, lines = run_one_slot(stack, commands_flow("long", "echo {{ 'x' * 200000 }} | wc -c"), "long")

    assert execution["state"]["current"] == "SUCCESS"
    assert "200001" in [line.strip() for line in lines]


def test_a_command_rendering_past_the_limit_fails_its_task_once_with_a_clear_error(stack):
    execution, lines = run_one_slot(stack, commands_flow("huge", "echo {{ 'x' * 2000000 }}"), "huge")

    assert execution["state"]["current"] == "FAILED"
    assert execution["taskRunList"][0]["attempts"][0]["state"]["current"] == "FAILED"
    assert any("too large" in line for line in lines), lines
    assert stack.queue_depth(stack.dlq_url) == 0


def test_a_line_past_the_limit_is_cut_with_a_note_and_the_task_still_succeeds(stack):
    execution, lines = run_one_slot(
        stack, commands_flow("chatty", "head -c 300000 /dev/zero | tr '\\0' x; echo", "echo next"), "chatty"
    )

    assert execution["state"]["current"] == "SUCCESS"
    assert len(lines[0]) < 70_000 and "line cut at 65,536 of 300,000 bytes" in lines[0]
    assert lines[1] == "next"


INJECTION = 'outage"; id; echo "$AWS_SECRET_ACCESS_KEY'


def test_a_backfill_label_with_shell_syntax_pasted_into_a_command_is_refused_and_creates_nothing(stack):
    flow = commands_flow("pasted", 'echo "because {{ labels.reason }}"')
    assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200

    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("pasted", SLOT, SLOT, labels={"reason": INJECTION}))

    assert answer.status == 422
    assert answer.message.startswith("backfill.labels.reason: the value holds shell syntax")
    assert stack.call("GET", "/api/v1/backfills?namespace=tests").body["total"] == 0
    assert stack.queue_depth() == 0


def test_the_same_label_through_env_reaches_the_command_as_data(stack):
    flow = commands_flow("through_env", 'echo "because $REASON"', env={"REASON": "{{ labels.reason }}"})
    assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200
    body = backfill_body("through_env", SLOT, SLOT, labels={"reason": INJECTION})
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="through_env")
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "SUCCESS"
    assert logs == [f"because {INJECTION}"]


def test_a_flow_updated_to_paste_a_label_into_its_commands_fails_the_task_instead_of_running_it(stack):
    harmless = commands_flow("changed", "echo working")
    assert stack.call("POST", "/api/v1/flows", harmless, "application/x-yaml").status == 200
    body = backfill_body("changed", SLOT, SLOT, labels={"reason": INJECTION})
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200  # nothing renders the label yet
    pasted = commands_flow("changed", 'echo "because {{ labels.reason }}"')
    assert stack.call("PUT", "/api/v1/flows/tests/changed", pasted, "application/x-yaml").status == 200
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="changed")
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "FAILED"
    assert any(line.startswith("backfill.labels.reason: the value holds shell syntax") for line in logs), logs
    assert not any("uid=" in line for line in logs)


def test_a_kill_reaches_a_command_running_in_the_task_runner(stack):
    """The kill travels as a marker the executor writes and the runner reads through one presigned URL."""
    flow = commands_flow("sleepy", "echo started", "sleep 60")
    assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("sleepy", SLOT, SLOT)).status == 200
    started = time.monotonic()
    executor = threading.Thread(target=stack.drain)
    executor.start()
    while not stack.executions(namespace="tests", flowId="sleepy", state="RUNNING"):
        assert time.monotonic() - started < 30, "the slot never started"
        time.sleep(0.2)
    time.sleep(1.5)  # the command is sleeping in the runner
    [running] = stack.executions(namespace="tests", flowId="sleepy", state="RUNNING")
    assert stack.call("DELETE", f"/api/v1/executions/{running['id']}/kill").status == 202
    executor.join(timeout=40)

    assert not executor.is_alive()
    assert time.monotonic() - started < 30  # not the 60 s of the sleep
    (execution,) = stack.executions(namespace="tests", flowId="sleepy")
    assert execution["state"]["current"] == "KILLED"
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert any(line.startswith("Task killed on request while running: sleep 60") for line in logs), logs
