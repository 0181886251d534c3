"""Kestra's lambda.Invoke, sqs.Publish and sns.Publish as the task runner runs them, against moto: what reaches
the function, queue or topic, Kestra's outputs, and a failure that fails the task saying why."""

import io
import json
import zipfile

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from backfill_core.flows.tasks import aws_tasks
from backfill_core.flows.tasks.aws_types import LAMBDA_INVOKE, SNS_PUBLISH, SQS_PUBLISH
from backfill_core.flows.tasks.protocol import TaskInvocation, TaskResult
from backfill_core.flows.tasks.runner import run_invocation

REGION = "eu-west-1"


@pytest.fixture
def moto(monkeypatch):
    """moto in-process, as the task runner's own role sees AWS (Lambda answers without Docker)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def run(task_type: str, props: dict) -> TaskResult:
    invocation = TaskInvocation(
        task_type=task_type, properties=props, timeout_seconds=30, execution_id="e1", task_id="t1"
    )
    return run_invocation(invocation)


def _messages(sqs, url: str, count: int) -> list[dict]:
    found: list[dict] = []
    while len(found) < count:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
        if not answer.get("Messages"):
            break
        found += answer["Messages"]
    return found


def test_sqs_publish_sends_every_message_in_batches_and_counts_them(moto):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    messages = [{"data": f"day {n}"} for n in range(11)] + [{"data": {"n": 1, "tags": ["a"]}}]
    result = run(SQS_PUBLISH, {"region": REGION, "queueUrl": url, "from": messages})
    assert result.succeeded, result.logs
    assert result.outputs == {"messagesCount": 12}
    bodies = sorted(message["Body"] for message in _messages(sqs, url, 12))
    assert bodies == sorted([f"day {n}" for n in range(11)] + ['{"n":1,"tags":["a"]}'])


def test_sqs_publish_of_one_message_to_a_fifo_queue_sends_its_group_and_deduplication_ids(moto):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    message = {"data": "hello", "groupId": "g1", "deduplicationId": "d1"}
    result = run(SQS_PUBLISH, {"region": REGION, "queueUrl": url, "from": message})
    assert result.succeeded and result.outputs == {"messagesCount": 1}, result.logs
    (received,) = _messages(sqs, url, 1)
    assert received["Body"] == "hello"
    assert received["Attributes"]["MessageGroupId"] == "g1"
    assert received["Attributes"]["MessageDeduplicationId"] == "d1"


def test_sqs_publish_to_a_queue_that_does_not_exist_fails_the_task_saying_why(moto):
    url = f"https://sqs.{REGION}.amazonaws.com/123456789012/missing"
    result = run(SQS_PUBLISH, {"region": REGION, "queueUrl": url, "from": {"data": "x"}})
    assert not result.succeeded and result.outputs == {}
    assert any("NonExistentQueue" in line.message or "does not exist" in line.message for line in result.logs)


def test_sns_publish_sends_each_message_with_its_subject_and_counts_them(moto):
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="alerts-copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    messages = [{"data": "Hello World"}, {"data": "Hello Kestra", "subject": "Kestra"}]
    result = run(SNS_PUBLISH, {"region": REGION, "topicArn": topic, "from": messages})
    assert result.succeeded and result.outputs == {"messagesCount": 2}, result.logs
    notes = [json.loads(message["Body"]) for message in _messages(sqs, url, 2)]
    assert sorted((note["Message"], note.get("Subject")) for note in notes) == [
        ("Hello Kestra", "Kestra"),
        ("Hello World", None),
    ]


def _function(name: str) -> str:
    iam = boto3.client("iam", region_name=REGION)
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    answer = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler", Code={"ZipFile": code.getvalue()}
    )
    return answer["FunctionArn"]


def test_lambda_invoke_sends_the_payload_and_keeps_the_response_with_its_length_and_type(moto):
    arn = _function("echo")
    payload = {"id": 1, "firstname": "John"}
    result = run(LAMBDA_INVOKE, {"region": REGION, "functionArn": arn, "functionPayload": payload})
    assert result.succeeded, result.logs
    assert json.loads(result.outputs["body"]) == payload  # moto's function answers with what it was sent
    assert result.outputs["contentLength"] == len(result.outputs["body"].encode())
    assert result.outputs["contentType"]


def test_lambda_invoke_takes_its_payload_from_an_expression_giving_a_json_object(moto):
    arn = _function("echo")
    result = run(LAMBDA_INVOKE, {"region": REGION, "functionArn": arn, "functionPayload": '{"day": "2024-01-01"}'})
    assert result.succeeded and json.loads(result.outputs["body"]) == {"day": "2024-01-01"}, result.logs
    result = run(LAMBDA_INVOKE, {"region": REGION, "functionArn": arn, "functionPayload": "[1, 2]"})
    assert not result.succeeded and any("JSON object" in line.message for line in result.logs)


def test_lambda_invoke_of_a_function_that_fails_fails_the_task_with_its_error(moto, monkeypatch):
    client = boto3.client("lambda", region_name=REGION)
    error = b'{"errorMessage": "\'path\'", "errorType": "KeyError"}'
    stub = Stubber(client)
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": StreamingBody(io.BytesIO(error), len(error)),
            "ResponseMetadata": {"HTTPHeaders": {"content-type": "application/json"}},
        },
    )
    monkeypatch.setattr(aws_tasks, "_client", lambda *args, **kwargs: client)
    with stub:
        result = run(LAMBDA_INVOKE, {"functionArn": "f"})
    assert not result.succeeded and result.outputs == {}
    (line,) = result.logs
    assert line.level == "ERROR" and "error for function: f" in line.message and "KeyError" in line.message
