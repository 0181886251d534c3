"""Registration checks of the HTTP Request and AWS tasks: every option Kestra documents for a Request's `options`
is implemented or refused with its path, and values that could never run are refused naming their field."""

import pytest
import yaml

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from backfill_core.flows.tasks.aws_types import LAMBDA_INVOKE, MAX_MESSAGES, SNS_PUBLISH, SQS_PUBLISH
from backfill_core.flows.tasks.http_types import HTTP_REQUEST, HTTP_REQUEST_LEGACY, OPTIONS

# Kestra's HttpConfiguration (core/http/client/configurations), its deprecated names included.
DOCUMENTED_OPTIONS = [
    "timeout", "proxy", "auth", "ssl", "followRedirects", "allowFailed", "allowedResponseCodes", "defaultCharset",
    "logs", "connectTimeout", "readTimeout", "proxyType", "proxyAddress", "proxyPort", "proxyUsername",
    "proxyPassword", "basicAuthUser", "basicAuthPassword", "logLevel", "readIdleTimeout",
    "connectionPoolIdleTimeout", "maxContentLength",
]  # fmt: skip
VALID_OPTIONS = {
    "timeout": {"connectTimeout": "PT5S", "readIdleTimeout": "PT1M"},
    "auth": {"type": "BEARER", "token": "{{ inputs.token }}"},
    "ssl": {"insecureTrustAllCertificates": True},
    "followRedirects": False,
    "allowFailed": "{{ true }}",
    "allowedResponseCodes": [200, 404],
    "defaultCharset": "ISO-8859-1",
    "logs": ["REQUEST_HEADERS", "RESPONSE_BODY"],
    "connectTimeout": "PT5S",
    "readTimeout": "PT30S",
    "basicAuthUser": "admin",
    "basicAuthPassword": "admin",
    "logLevel": "DEBUG",
    "readIdleTimeout": "PT1M",
    "maxContentLength": 1000,
}


def flow(task: dict) -> str:
    return yaml.safe_dump({"id": "f", "namespace": "tests", "tasks": [{"id": "t", **task}]}, sort_keys=False)


def refusal(task: dict) -> str:
    with pytest.raises(Invalid) as refused:
        parse_flow(flow(task))
    return refused.value.message


def request(**props) -> dict:
    return {"type": HTTP_REQUEST, "uri": "https://example.com/api", **props}


def test_every_documented_option_is_decided():
    assert [name for name in DOCUMENTED_OPTIONS if name not in OPTIONS] == []
    assert sorted(VALID_OPTIONS) == sorted(name for name, why in OPTIONS.items() if why is None)


@pytest.mark.parametrize("name", DOCUMENTED_OPTIONS)
def test_an_option_is_implemented_or_refused_with_its_path(name):
    reason = OPTIONS[name]
    if reason is None:
        parse_flow(flow(request(options={name: VALID_OPTIONS[name]})))
    else:
        assert f"tasks[t].options.{name}: {reason}" in refusal(request(options={name: "x"}))


@pytest.mark.parametrize(
    ("task", "named"),
    [
        ({"type": HTTP_REQUEST}, "tasks[t].uri: the URL to call is required"),
        (request(uri="file:///etc/passwd"), "tasks[t].uri: an http:// or https:// URL is required"),
        (request(method="FETCH"), "tasks[t].method: one of GET"),
        (request(body={"a": 1}), "tasks[t].body: a string"),
        (request(headers={"X-A": {"b": 1}}), "tasks[t].headers: a map of header names to values"),
        (request(formData={"f": "kestra:///a/b.csv"}), "tasks[t].formData.f: a kestra:// file not supported yet"),
        (request(options={"auth": {"type": "BASIC", "token": "x"}}), "tasks[t].options.auth.token: not a property"),
        (request(options={"auth": {"type": "NTLM"}}), "tasks[t].options.auth.type: one of BASIC, BEARER"),
        (request(options={"timeout": {"writeTimeout": "PT1S"}}), "tasks[t].options.timeout.writeTimeout"),
        (request(options={"logs": ["EVERYTHING"]}), "tasks[t].options.logs: a list of REQUEST_HEADERS"),
        (request(options={"colour": "red"}), "tasks[t].options.colour: not a property of the HTTP options"),
        (request(options={"allowFailed": "maybe"}), "tasks[t].options.allowFailed: true or false"),
        (request(sslOptions={"trustStore": "x"}), "tasks[t].sslOptions.trustStore: not a property"),
        ({"type": LAMBDA_INVOKE}, "tasks[t].functionArn: a non-empty string is required"),
        ({"type": LAMBDA_INVOKE, "functionArn": "f", "functionPayload": "x"}, "tasks[t].functionPayload: a map"),
        ({"type": SQS_PUBLISH, "queueUrl": "q"}, "tasks[t].from: a message or a list of messages is required"),
        ({"type": SQS_PUBLISH, "queueUrl": "q", "from": [{"groupId": "g"}]}, "tasks[t].from[0].data: the message"),
        (
            {"type": SQS_PUBLISH, "queueUrl": "q", "from": {"data": "a", "delaySeconds": 901}},
            "tasks[t].from.delaySeconds: a number of seconds from 0 to 900",
        ),
        ({"type": SQS_PUBLISH, "queueUrl": "q", "from": {"data": "a", "subject": "s"}}, "tasks[t].from.subject"),
        (
            {"type": SQS_PUBLISH, "queueUrl": "q", "from": [{"data": "a"}] * (MAX_MESSAGES + 1)},
            f"tasks[t].from: at most {MAX_MESSAGES} messages",
        ),
        ({"type": SNS_PUBLISH, "topicArn": "t", "from": {"data": {"a": 1}}}, "tasks[t].from.data: a string"),
        ({"type": SNS_PUBLISH, "topicArn": "t", "from": "{{ outputs.x.uri }}"}, "tasks[t].from: a message or a"),
        (
            {"type": "io.kestra.plugin.core.http.Download", "uri": "https://example.com/a.csv", "saveAs": "../a.csv"},
            "tasks[t].saveAs: a file name is required",
        ),
        ({"type": "io.kestra.plugin.fs.http.Download", "uri": "s3://bucket/a.csv"}, "tasks[t].uri: an http:// or"),
    ],
)
def test_a_value_that_could_never_run_is_refused_naming_its_field(task, named):
    assert named in refusal(task)


def test_kestras_examples_register():
    """Flows as Kestra's documentation writes them (credentials left out: the task runner's role is used)."""
    parse_flow(
        flow(
            request(
                type=HTTP_REQUEST_LEGACY,
                method="POST",
                contentType="multipart/form-data",
                formData={"user": "John Doe"},
                options={"auth": {"type": "BASIC", "username": "admin", "password": "admin"}},
            )
        )
    )
    parse_flow(
        flow({"type": SQS_PUBLISH, "queueUrl": "q", "from": [{"data": "Hello"}, {"data": "K", "delaySeconds": 5}]})
    )
    parse_flow(flow({"type": SNS_PUBLISH, "topicArn": "t", "from": {"data": "{{ inputs.sms_text }}"}}))
    parse_flow(flow({"type": LAMBDA_INVOKE, "functionArn": "f", "functionPayload": {"id": 1}, "region": "eu-west-1"}))
