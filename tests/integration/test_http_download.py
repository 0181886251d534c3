"""Kestra's HTTP Download task: made by the task runner against a server on loopback, the response kept as a
kestra:// file that the file route and later tasks read, Kestra's outputs, its failures (an empty body, a status
of 400 or more) unless allowed, the bound on the file, the guard of http.Request, and a kill."""

import base64
import json
import time
from urllib.parse import quote

import boto3
import pytest

from backfill_core.flows.tasks import http_download
from backfill_core.flows.tasks.http_download import run_http_download
from backfill_core.flows.tasks.http_types import HTTP_DOWNLOAD
from backfill_core.flows.tasks.internal_storage import TaskStorage
from backfill_core.flows.tasks.protocol import StoragePlace, TaskInvocation
from backfill_core.flows.tasks.runner import run_invocation
from local.api_server import proxy_event
from local.lambda_runtime import LambdaContext
from tests.flows import backfill_body
from tests.http_server import start_server

SLOT = "2024-01-01T00:00:00Z"
TRIGGER = """
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
NOWHERE = TaskStorage("no-such-bucket", "main", "tests", "f", "e1", "t1", "r1")  # for downloads that fail first


@pytest.fixture
def server():
    running = start_server()
    yield running
    running.stop()


def download(props: dict, storage: TaskStorage = NOWHERE) -> tuple[bool, dict, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    succeeded, outputs = run_http_download(props, 10.0, storage, lambda level, text, _at: lines.append((level, text)))
    return succeeded, outputs, lines


def stored(aws) -> TaskStorage:
    return TaskStorage(aws.bucket_name("ExecutionFilesBucket"), "main", "tests", "f", "e1", "t1", "r1")


def stored_bytes(aws, uri: str) -> bytes:
    key = "files/main" + uri.removeprefix("kestra://")
    return boto3.client("s3").get_object(Bucket=aws.bucket_name("ExecutionFilesBucket"), Key=key)["Body"].read()


def test_a_download_is_kept_in_internal_storage_and_read_by_the_file_route_and_later_tasks(stack, server):
    source = (
        f"""
id: downloader
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{server.url}/orders.csv?day={{{{ trigger.date | date('yyyy-MM-dd') }}}}"
  - id: named
    type: io.kestra.plugin.fs.http.Download
    uri: "{server.url}/attachment"
  - id: saved
    type: io.kestra.plugin.core.http.Download
    uri: "{server.url}/echo"
    saveAs: "day-{{{{ trigger.date | date('yyyy-MM-dd') }}}}.json"
  - id: count
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      orders.csv: "{{{{ outputs.extract.uri }}}}"
    commands:
      - echo "size $(wc -c < orders.csv)"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "named holds {{{{ read(outputs.named.uri) | length }}}} characters"
"""
        + TRIGGER
    )
    registered = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert registered.status == 200, registered.raw
    backfill = {**backfill_body("downloader", SLOT, SLOT), "namespace": "company.team"}
    assert stack.call("PUT", "/api/v1/triggers", backfill).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="company.team", flowId="downloader")
    execution = stack.call("GET", f"/api/v1/executions/{execution['id']}").body
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "SUCCESS", logs
    runs = {run["taskId"]: run for run in execution["taskRunList"]}

    body = json.dumps({"method": "GET", "path": "/orders.csv?day=2024-01-01", "body": ""}).encode()
    extract = runs["extract"]["outputs"]
    prefix = f"kestra:///company/team/downloader/executions/{execution['id']}/tasks/extract/{runs['extract']['id']}/"
    assert extract["uri"].startswith(prefix) and extract["uri"].endswith(".csv")  # the URI's extension, as Kestra
    assert (extract["code"], extract["length"]) == (200, len(body))
    assert extract["headers"]["X-Echo"] == ["one", "two"]
    assert runs["named"]["outputs"]["uri"].endswith("/report+1.csv")  # its last segment only, URL-encoded
    assert runs["saved"]["outputs"]["uri"].endswith("/day-2024-01-01.json")
    assert f"size {len(body)}" in logs
    assert "named holds 8 characters" in logs  # read() gave the file's text to the expression

    answer = stack.api_module.lambda_handler(
        proxy_event(
            "GET", f"/api/v1/executions/{execution['id']}/file?path={quote(extract['uri'])}", {}, b"", "127.0.0.1"
        ),
        LambdaContext("ApiFunction", 30),
    )
    assert answer["statusCode"] == 200, answer
    assert base64.b64decode(answer["body"]) == body


def test_an_empty_body_fails_the_task_unless_fail_on_empty_response_is_false(aws, server):
    succeeded, outputs, lines = download({"uri": f"{server.url}/empty"})
    assert not succeeded and outputs == {}
    assert any(level == "ERROR" and "empty body (failOnEmptyResponse)" in text for level, text in lines), lines
    succeeded, outputs, lines = download({"uri": f"{server.url}/empty", "failOnEmptyResponse": False}, stored(aws))
    assert succeeded and outputs["length"] == 0 and stored_bytes(aws, outputs["uri"]) == b""
    assert ("WARN", f"File '{server.url}/empty' is empty") in lines


def test_a_status_of_400_or_more_fails_the_task_unless_failures_are_allowed(aws, server):
    succeeded, outputs, lines = download({"uri": f"{server.url}/status/404"})
    assert not succeeded and outputs == {}
    assert ("ERROR", f"Failed http request with response code '404' from {server.url}/status/404") in lines
    for allowed in ({"options": {"allowFailed": True}}, {"allowFailed": True}):
        succeeded, outputs, _ = download({"uri": f"{server.url}/status/404", **allowed}, stored(aws))
        assert succeeded and outputs["code"] == 404 and stored_bytes(aws, outputs["uri"]) == b"status 404"


def test_a_body_past_the_files_bound_fails_the_task_and_stores_nothing(server, monkeypatch):
    succeeded, _, lines = download({"uri": f"{server.url}/big", "options": {"maxContentLength": 10}})
    assert not succeeded and any("more than 10 bytes" in text for _, text in lines), lines
    monkeypatch.setattr(http_download, "MAX_FILE_BYTES", 1000)  # the internal storage's bound on one file
    succeeded, _, lines = download({"uri": f"{server.url}/big"})
    assert not succeeded and any("more than 1,000 bytes" in text for _, text in lines), lines


def test_the_lambda_runtime_api_is_refused_as_to_http_request(server, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", server.address)
    port = server.address.rsplit(":", 1)[1]
    succeeded, _, lines = download({"uri": f"http://localhost:{port}/2018-06-01/runtime/invocation/next"})
    assert not succeeded and server.received == []
    assert any("Lambda runtime API" in text for _, text in lines)


def test_a_kill_ends_a_running_download_at_once_as_killed(server):
    invocation = TaskInvocation(
        task_type=HTTP_DOWNLOAD,
        properties={"uri": f"{server.url}/slow/5"},
        timeout_seconds=30,
        kill_url=f"{server.url}/kill-marker",  # answers 200: the marker is there
        execution_id="e1",
        task_id="t1",
        storage=StoragePlace(bucket="no-such-bucket", tenant="main", namespace="tests", flow_id="f", task_run_id="r1"),
    )
    started = time.monotonic()
    result = run_invocation(invocation)
    assert result.killed and not result.succeeded
    assert time.monotonic() - started < 3
