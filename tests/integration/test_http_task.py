"""Kestra's HTTP Request task: made by the task runner against a server on loopback, with Kestra's outputs, its
failure on a status of 400 or more (unless allowed), its options, the bounds that keep the execution's record,
the addresses it may not reach, and caller data that reaches the server as data, never run or rendered."""

import base64
import json
import time
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from backfill_core.flows.tasks.http_request import MAX_BODY_BYTES, run_http_request
from backfill_core.flows.tasks.http_types import HTTP_REQUEST
from backfill_core.flows.tasks.protocol import TaskInvocation
from backfill_core.flows.tasks.runner import run_invocation
from tests.flows import backfill_body
from tests.http_server import self_signed_context, start_server

SLOT = "2024-01-01T00:00:00Z"
HOSTILE = ["$(touch pwned)", '"; rm -rf ~ #', "{{ 7*7 }}"]
TRIGGER = """
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


@pytest.fixture
def server():
    running = start_server()
    yield running
    running.stop()


def request(props: dict, timeout: float = 10.0) -> tuple[bool, dict, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    succeeded, outputs = run_http_request(props, timeout, lambda level, message, _at: lines.append((level, message)))
    return succeeded, outputs, lines


def test_a_get_gives_kestra_outputs_code_headers_uri_and_body(server):
    succeeded, outputs, _ = request({"uri": f"{server.url}/echo?day=2024-01-01"})
    assert succeeded
    assert outputs["code"] == 200
    assert outputs["uri"] == f"{server.url}/echo?day=2024-01-01"
    assert json.loads(outputs["body"]) == {"method": "GET", "path": "/echo?day=2024-01-01", "body": ""}
    assert outputs["headers"]["X-Echo"] == ["one", "two"]
    (received,) = server.received
    assert received.headers["User-Agent"] == "Kestra"


def test_a_post_sends_its_body_with_its_content_type_and_headers(server):
    props = {
        "uri": f"{server.url}/items",
        "method": "POST",
        "body": '{"n": 1}',
        "headers": {"X-Team": "data", "X-Count": 3},
    }
    succeeded, outputs, _ = request(props)
    assert succeeded and outputs["code"] == 200
    (received,) = server.received
    assert (received.method, received.body) == ("POST", b'{"n": 1}')
    assert received.headers["Content-Type"] == "application/json"  # Kestra's default contentType
    assert (received.headers["X-Team"], received.headers["X-Count"]) == ("data", "3")


def test_form_data_is_sent_url_encoded_or_as_multipart_when_the_content_type_says_so(server):
    assert request({"uri": server.url, "method": "POST", "formData": {"user": "John Doe", "n": 2}})[0]
    assert request(
        {"uri": server.url, "method": "POST", "contentType": "multipart/form-data", "formData": {"user": "Jo"}}
    )[0]
    encoded, multipart = server.received
    assert encoded.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert encoded.body == b"user=John+Doe&n=2"
    assert multipart.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'Content-Disposition: form-data; name="user"\r\n\r\nJo\r\n' in multipart.body


@pytest.mark.parametrize(
    ("options", "authorization"),
    [
        ({"auth": {"type": "BASIC", "username": "admin", "password": "s3cret"}}, "Basic YWRtaW46czNjcmV0"),
        ({"auth": {"type": "BEARER", "token": "abc"}}, "Bearer abc"),
        ({"basicAuthUser": "admin", "basicAuthPassword": "s3cret"}, "Basic YWRtaW46czNjcmV0"),  # deprecated names
    ],
)
def test_basic_and_bearer_auth_send_their_authorization_header(server, options, authorization):
    assert request({"uri": server.url, "options": options})[0]
    assert server.received[0].headers["Authorization"] == authorization
    if authorization.startswith("Basic"):
        assert base64.b64decode(authorization.split()[1]) == b"admin:s3cret"


def test_digest_auth_answers_the_servers_challenge_and_a_wrong_password_fails(server):
    digest = {"type": "DIGEST", "username": "admin", "password": "s3cret"}
    succeeded, outputs, _ = request({"uri": f"{server.url}/digest", "options": {"auth": digest}})
    assert succeeded and outputs["body"] == "digest ok"
    challenged, answered = server.received
    assert "Authorization" not in challenged.headers and answered.headers["Authorization"].startswith("Digest ")
    wrong = {**digest, "password": "guess"}
    succeeded, _, lines = request({"uri": f"{server.url}/digest", "options": {"auth": wrong}})
    assert not succeeded and any("'401'" in message for _, message in lines), lines


def test_a_status_of_400_or_more_fails_the_task_without_outputs(server):
    succeeded, outputs, lines = request({"uri": f"{server.url}/status/404"})
    assert not succeeded and outputs == {}
    assert ("ERROR", f"Failed http request with response code '404' from {server.url}/status/404") in lines


@pytest.mark.parametrize(
    "props",
    [{"options": {"allowFailed": True}}, {"allowFailed": True}, {"options": {"allowedResponseCodes": [503]}}],
    ids=["options.allowFailed", "allowFailed (deprecated)", "allowedResponseCodes"],
)
def test_allowed_failures_succeed_with_the_failed_response_as_outputs(server, props):
    succeeded, outputs, _ = request({"uri": f"{server.url}/status/503", **props})
    assert succeeded and outputs["code"] == 503 and outputs["body"] == "status 503"


def test_allowed_response_codes_fail_any_other_code_even_a_200(server):
    assert not request({"uri": f"{server.url}/echo", "options": {"allowedResponseCodes": [201]}})[0]


def test_redirects_are_followed_unless_follow_redirects_is_false(server):
    succeeded, followed, _ = request({"uri": f"{server.url}/redirect"})
    assert succeeded and followed["code"] == 200 and json.loads(followed["body"])["path"] == "/echo"
    succeeded, kept, _ = request({"uri": f"{server.url}/redirect", "options": {"followRedirects": False}})
    assert succeeded and kept["code"] == 302 and kept["headers"]["Location"] == ["/echo"]


def test_a_body_past_what_a_task_run_keeps_fails_the_task_saying_so(server):
    succeeded, outputs, lines = request({"uri": f"{server.url}/big"})
    assert not succeeded and outputs == {}
    assert any(f"more than {MAX_BODY_BYTES:,} bytes" in message and "Download" in message for _, message in lines)
    assert not request({"uri": f"{server.url}/echo", "options": {"maxContentLength": 10}})[0]


def test_a_body_that_is_no_text_fails_the_task(server):
    succeeded, _, lines = request({"uri": f"{server.url}/binary"})
    assert not succeeded and any("not text" in message for _, message in lines)


def test_logs_option_logs_the_request_and_response_headers_and_bodies(server):
    props = {"uri": server.url, "method": "POST", "body": "hello", "options": {"logs": ["REQUEST_BODY"]}}
    _, _, lines = request(props)
    assert ("INFO", "request body: hello") in lines
    assert not any("header" in message for _, message in lines)


def test_logged_request_headers_mask_the_credentials(server):
    options = {"logs": ["REQUEST_HEADERS", "RESPONSE_HEADERS"], "auth": {"type": "BEARER", "token": "t0ken"}}
    _, _, lines = request({"uri": server.url, "options": options})
    assert ("INFO", "request header Authorization: ******") in lines
    assert ("INFO", "response header X-Echo: two") in lines
    assert not any("t0ken" in message for _, message in lines)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", "127.0.0.2", "[::1]"])
def test_the_lambda_runtime_api_is_refused_by_any_loopback_name(server, monkeypatch, host):
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", server.address)
    port = server.address.rsplit(":", 1)[1]
    succeeded, _, lines = request({"uri": f"http://{host}:{port}/2018-06-01/runtime/invocation/next"})
    assert not succeeded and server.received == []
    assert any("Lambda runtime API" in message for _, message in lines)


def test_a_redirect_to_the_lambda_runtime_api_is_refused(server, monkeypatch):
    runtime = start_server()
    try:
        monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", runtime.address)
        target = quote(f"{runtime.url}/2018-06-01/runtime/invocation/next", safe="")
        succeeded, _, lines = request({"uri": f"{server.url}/redirect-to/{target}"})
        assert not succeeded and len(server.received) == 1 and runtime.received == []
        assert any("Lambda runtime API" in message for _, message in lines)
    finally:
        runtime.stop()


@pytest.mark.parametrize(
    "uri", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.170.2]/v2/credentials"]
)
def test_link_local_metadata_and_credential_endpoints_are_refused(uri):
    succeeded, _, lines = request({"uri": uri})
    assert not succeeded and any("link-local" in message for _, message in lines)


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "ftp://example.com/x"])
def test_only_http_and_https_urls_are_requested(uri):
    succeeded, _, lines = request({"uri": uri})
    assert not succeeded and any("not an http:// or https:// URL" in message for _, message in lines)


def test_a_certificate_no_authority_signed_fails_unless_insecure_trust_all_certificates(tmp_path):
    server = start_server(self_signed_context(tmp_path))
    try:
        succeeded, _, lines = request({"uri": f"{server.url}/echo"})
        assert not succeeded and any("CERTIFICATE_VERIFY_FAILED" in message for _, message in lines), lines
        for insecure in (
            {"options": {"ssl": {"insecureTrustAllCertificates": True}}},
            {"sslOptions": {"insecureTrustAllCertificates": True}},
        ):
            succeeded, outputs, _ = request({"uri": f"{server.url}/echo", **insecure})
            assert succeeded and outputs["code"] == 200
    finally:
        server.stop()


def test_a_kill_ends_a_running_request_at_once_as_killed(server):
    invocation = TaskInvocation(
        task_type=HTTP_REQUEST,
        properties={"uri": f"{server.url}/slow/5"},
        timeout_seconds=30,
        kill_url=f"{server.url}/kill-marker",  # answers 200: the marker is there
        execution_id="e1",
        task_id="t1",
    )
    started = time.monotonic()
    result = run_invocation(invocation)
    assert result.killed and not result.succeeded
    assert time.monotonic() - started < 3
    assert any("killed on request" in line.message for line in result.logs)


def test_a_request_with_no_kill_asked_runs_to_its_end(server):
    invocation = TaskInvocation(
        task_type=HTTP_REQUEST,
        properties={"uri": f"{server.url}/slow/1.5"},
        timeout_seconds=30,
        kill_url=f"{server.url}/status/404",  # no marker
        execution_id="e1",
        task_id="t1",
    )
    result = run_invocation(invocation)
    assert result.succeeded and not result.killed and result.outputs["body"] == "slow"


def test_a_header_value_with_a_line_break_fails_the_task_instead_of_adding_a_header(server):
    succeeded, _, _ = request({"uri": server.url, "headers": {"X-Note": "a\r\nX-Injected: 1"}})
    assert not succeeded and server.received == []


def test_a_request_task_runs_in_the_task_runner_and_its_outputs_reach_later_tasks(stack, server):
    source = (
        f"""
id: http_flow
namespace: tests
tasks:
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: "{server.url}/day/{{{{ trigger.date | date('yyyy-MM-dd') }}}}"
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.call.code }}}} {{{{ fromJson(outputs.call.body).path }}}}"
"""
        + TRIGGER
    )
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("http_flow", SLOT, SLOT)).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId="http_flow")
    execution = stack.call("GET", f"/api/v1/executions/{execution['id']}").body
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "SUCCESS", logs
    assert [received.path for received in server.received] == ["/day/2024-01-01"]
    call = next(run for run in execution["taskRunList"] if run["taskId"] == "call")
    assert call["outputs"]["code"] == 200
    assert "200 /day/2024-01-01" in logs


def test_a_failing_request_fails_the_execution_and_says_why(stack, server):
    source = (
        f"""
id: http_fails
namespace: tests
tasks:
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: "{server.url}/status/500"
"""
        + TRIGGER
    )
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("http_fails", SLOT, SLOT)).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace="tests", flowId="http_fails")
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "FAILED"
    assert any("response code '500'" in line for line in logs), logs


def test_hostile_caller_values_reach_the_server_as_data_never_run_or_rendered(stack, server, readable_tmp):
    inputs_yaml = "inputs:\n" + "".join(
        f"  - id: i{n}\n    type: STRING\n    required: false\n    defaults: plain\n" for n in range(len(HOSTILE))
    )
    headers = "".join(
        f"      X-Input-{n}: '{{{{ inputs.i{n} }}}}'\n      X-Label-{n}: '{{{{ labels.l{n} }}}}'\n"
        for n in range(len(HOSTILE))
    )
    query = "&".join(
        f"i{n}={{{{ inputs.i{n} | urlencode }}}}&l{n}={{{{ labels.l{n} | urlencode }}}}" for n in range(len(HOSTILE))
    )
    body = "|".join(
        [f"{{{{ inputs.i{n} }}}}" for n in range(len(HOSTILE))]
        + [f"{{{{ labels.l{n} }}}}" for n in range(len(HOSTILE))]
    )
    source = (
        """
id: http_as_data
namespace: tests
"""
        + inputs_yaml
        + f"""tasks:
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: "{server.url}/raw/{{{{ inputs.i0 }}}}?{query}"
    method: POST
    contentType: text/plain
    headers:
{headers}    body: |-
      {body}
"""
        + TRIGGER
    )
    registered = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert registered.status == 200, registered.raw
    inputs = {f"i{n}": value for n, value in enumerate(HOSTILE)}
    labels = {f"l{n}": value for n, value in enumerate(HOSTILE)}
    answer = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("http_as_data", SLOT, SLOT, inputs=inputs, labels=labels)
    )
    assert answer.status == 200, answer.raw
    stack.drain()

    (execution,) = stack.executions(namespace="tests", flowId="http_as_data")
    logs = [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]
    assert execution["state"]["current"] == "SUCCESS", logs
    (received,) = server.received
    assert received.body.decode() == "|".join(HOSTILE + HOSTILE)
    query = parse_qs(urlsplit(received.path).query)
    for n, value in enumerate(HOSTILE):
        assert received.headers[f"X-Input-{n}"] == value
        assert received.headers[f"X-Label-{n}"] == value
        assert query[f"i{n}"] == [value] and query[f"l{n}"] == [value]
    assert unquote(urlsplit(received.path).path) == f"/raw/{HOSTILE[0]}"  # pasted raw into the path: still text
    caller_headers = {name: value for name, value in received.headers.items() if name.startswith("X-")}
    assert "49" not in received.body.decode() and "49" not in json.dumps(caller_headers)  # Host's port may hold 49
    assert not (readable_tmp / "pwned").exists()
