"""Kestra's internal storage through the executor and the local task runner: a script's outputFiles kept as
kestra:// files under files/ of the execution-files bucket, handed to a later task's inputFiles, and read back
through GET /api/v1/executions/{id}/file; another flow's files refused to a task and to the route."""

import boto3

from tests.flows import backfill_body

SLOT = "2024-01-01T00:00:00Z"
TRIGGER = """
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
WRITER = (
    """
id: writer
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.txt", "data/**"]
    commands:
      - echo "day {{ trigger.date | date('yyyy-MM-dd') }}" > day.txt
      - mkdir -p data/deep && printf 'x' > data/deep/x.csv && echo skipped > skipped.log
  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      copy.txt: "{{ outputs.write.outputFiles['day.txt'] }}"
    commands:
      - cat copy.txt
"""
    + TRIGGER
)


def register(stack, source: str) -> None:
    answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert answer.status == 200, answer.raw


def run_one(stack, flow_id: str, namespace: str = "company.team") -> dict:
    body = {**backfill_body(flow_id, SLOT, SLOT), "namespace": namespace}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace=namespace, flowId=flow_id)
    return execution


def logs_of(stack, execution: dict) -> list[str]:
    return [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]


def test_output_files_are_kept_as_kestra_uris_and_reach_a_later_tasks_input_files(stack):
    register(stack, WRITER)
    execution = run_one(stack, "writer")
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    write = next(run for run in execution["taskRunList"] if run["taskId"] == "write")
    files = write["outputs"]["outputFiles"]
    assert sorted(files) == ["data/deep/x.csv", "day.txt"]  # skipped.log matches no pattern
    prefix = f"kestra:///company/team/writer/executions/{execution['id']}/tasks/write/{write['id']}/"
    assert all(uri.startswith(prefix) and uri.endswith(name.rsplit("/")[-1]) for name, uri in files.items())
    assert "day 2024-01-01" in logs

    bucket = stack.resources.bucket_name("ExecutionFilesBucket")
    key = "files/main" + files["day.txt"].removeprefix("kestra://")
    assert boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == b"day 2024-01-01\n"


def test_a_task_cannot_read_another_flows_files(stack):
    register(stack, WRITER)
    written = run_one(stack, "writer")
    uri = next(run for run in written["taskRunList"] if run["taskId"] == "write")["outputs"]["outputFiles"]["day.txt"]
    register(
        stack,
        f"""
id: snoop
namespace: other.team
tasks:
  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      stolen.txt: "{uri}"
    commands:
      - cat stolen.txt
"""
        + TRIGGER,
    )
    execution = run_one(stack, "snoop", namespace="other.team")
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "FAILED"
    assert any("inputFiles.stolen.txt" in line and "not a file of flow other.team.snoop" in line for line in logs)
    assert "day 2024-01-01" not in logs
