"""Kestra's internal storage through the executor and the local task runner: a script's outputFiles kept as
kestra:// files under files/ of the execution-files bucket, handed to a later task's inputFiles, and read back
through GET /api/v1/executions/{id}/file; another flow's files refused to a task and to the route."""

import base64
from urllib.parse import quote

import boto3

from local.api_server import proxy_event
from local.lambda_runtime import LambdaContext
from tests.harness import logs_of, run_one

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


def test_output_files_are_kept_as_kestra_uris_and_reach_a_later_tasks_input_files(stack):
    register(stack, WRITER)
    execution = run_one(stack, "writer", SLOT)
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
    written = run_one(stack, "writer", SLOT)
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
    execution = run_one(stack, "snoop", SLOT, namespace="other.team")
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "FAILED"
    assert any("inputFiles.stolen.txt" in line and "not a file of flow other.team.snoop" in line for line in logs)
    assert "day 2024-01-01" not in logs


def test_an_executions_file_is_read_through_kestras_file_route(stack):
    register(stack, WRITER)
    execution = run_one(stack, "writer", SLOT)
    uri = next(run for run in execution["taskRunList"] if run["taskId"] == "write")["outputs"]["outputFiles"]["day.txt"]
    for prefix in ("/api/v1", "/api/v1/main"):
        answer = stack.api_module.lambda_handler(
            proxy_event("GET", f"{prefix}/executions/{execution['id']}/file?path={quote(uri)}", {}, b"", "127.0.0.1"),
            LambdaContext("ApiFunction", 30),
        )
        assert answer["statusCode"] == 200, answer
        assert base64.b64decode(answer["body"]) == b"day 2024-01-01\n"
        headers = {**answer.get("headers", {}), **{k: v[0] for k, v in answer.get("multiValueHeaders", {}).items()}}
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Disposition"].endswith(uri.rsplit("/", 1)[-1] + '"')


def test_the_file_route_refuses_a_path_of_another_execution_or_no_path_at_all(stack):
    register(stack, WRITER)
    execution = run_one(stack, "writer", SLOT)
    route = f"/api/v1/executions/{execution['id']}/file?path="
    other = "kestra:///company/team/writer/executions/another-one/tasks/write/x/day.txt"
    assert stack.call("GET", route + quote(other)).status == 404
    missing = f"kestra:///company/team/writer/executions/{execution['id']}/tasks/write/x/none.txt"
    assert stack.call("GET", route + quote(missing)).status == 404
    for malformed in ("s3://bucket/key", f"kestra:///company/team/writer/executions/{execution['id']}/../x"):
        answer = stack.call("GET", route + quote(malformed))
        assert answer.status == 422 and answer.message.startswith("path: "), answer.raw
    assert stack.call("GET", "/api/v1/executions/no-such-execution/file?path=" + quote(other)).status == 404


def test_a_file_larger_than_one_answer_is_refused_with_a_clear_message(stack, monkeypatch):
    from backfill_core.kestra_api import execution_files

    register(stack, WRITER)
    execution = run_one(stack, "writer", SLOT)
    uri = next(run for run in execution["taskRunList"] if run["taskId"] == "write")["outputs"]["outputFiles"]["day.txt"]
    monkeypatch.setattr(execution_files, "MAX_FILE_ANSWER_BYTES", 4)
    answer = stack.call("GET", f"/api/v1/executions/{execution['id']}/file?path={quote(uri)}")
    assert answer.status == 422
    assert "more than the 4 one answer may carry" in answer.message


def test_read_gives_an_output_files_text_to_a_later_tasks_expression(stack):
    register(
        stack,
        """
id: reader
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [count.txt]
    commands:
      - printf 42 > count.txt
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "count is {{ read(outputs.write.outputFiles['count.txt']) }}"
"""
        + TRIGGER,
    )
    execution = run_one(stack, "reader", SLOT)
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    assert "count is 42" in logs


def test_the_tasks_of_a_working_directory_share_its_files(stack):
    register(
        stack,
        """
id: shared
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: clone
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - mkdir -p repo/src && echo "v1" > repo/src/version && ln -s /etc/passwd repo/link
      - id: note
        type: io.kestra.plugin.core.log.Log
        message: between the two
      - id: build
        type: io.kestra.plugin.scripts.python.Commands
        inputFiles:
          repo/src/extra: "added\\n"
        outputFiles: ["repo/src/*"]
        commands:
          - cat repo/src/version repo/src/extra
          - test ! -e repo/link && echo "no link"
  - id: outside
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - test ! -e repo && echo "a fresh folder"
"""
        + TRIGGER,
    )
    execution = run_one(stack, "shared", SLOT)
    logs = logs_of(stack, execution)
    assert execution["state"]["current"] == "SUCCESS", logs
    expected = ["v1", "added", "no link", "a fresh folder"]
    assert [line for line in logs if line in expected] == expected
    build = next(run for run in execution["taskRunList"] if run["taskId"] == "build")
    wd = next(run for run in execution["taskRunList"] if run["taskId"] == "wd")
    assert build["parentTaskRunId"] == wd["id"]
    assert sorted(build["outputs"]["outputFiles"]) == ["repo/src/extra", "repo/src/version"]
