"""Kestra's AWS tasks that send something and keep no file: lambda.Invoke, sqs.Publish and sns.Publish. Only
names, property tables and checks live here, so the engine and the task runner agree on them; the calls are
made by the task runner (tasks/aws_tasks.py), with the task runner's own role (tasks/aws_connection.py)."""

from typing import Any

from backfill_core.flows.tasks.aws_connection import AWS_CONNECTION

LAMBDA_INVOKE = "io.kestra.plugin.aws.lambda.Invoke"
SQS_PUBLISH = "io.kestra.plugin.aws.sqs.Publish"
SNS_PUBLISH = "io.kestra.plugin.aws.sns.Publish"
AWS_TASK_TYPES = (LAMBDA_INVOKE, SQS_PUBLISH, SNS_PUBLISH)

NEEDS_STORAGE = "not supported yet: it needs Kestra's internal storage (kestra:// files)"

UNUSED_SQS_CLIENT = "not supported: a setting of Kestra's asynchronous SQS client, which Publish does not use"
AWS_TASK_PROPERTIES: dict[str, dict[str, str | None]] = {
    LAMBDA_INVOKE: {"functionArn": None, "functionPayload": None, **AWS_CONNECTION},
    SQS_PUBLISH: {
        "queueUrl": None,
        "from": None,
        "maxConcurrency": UNUSED_SQS_CLIENT,
        "connectionAcquisitionTimeout": UNUSED_SQS_CLIENT,
        **AWS_CONNECTION,
    },
    SNS_PUBLISH: {"topicArn": None, "from": None, **AWS_CONNECTION},
}
# The properties of one message of `from`.
SQS_MESSAGE = ("data", "groupId", "deduplicationId", "delaySeconds")
SNS_MESSAGE = ("data", "groupId", "deduplicationId", "subject", "phoneNumber", "structure")
MAX_MESSAGES = 1000  # messages one task may publish: each is a call made inside one task runner invocation


def messages_of(value: Any) -> list[Any]:
    """`from` as a list of messages: one message (a map) or a list of them."""
    return value if isinstance(value, list) else [value]


def _from_problem(value: Any, known: tuple[str, ...], string_data: bool) -> str | None:
    if isinstance(value, str):
        if "{{" in value:
            return "from: a message or a list of messages is required (an expression cannot give them)"
        return f"from: a URI of a file of messages {NEEDS_STORAGE}; give a message or a list of messages"
    messages = messages_of(value)
    if not messages:
        return "from: at least one message is required"
    if len(messages) > MAX_MESSAGES:
        return f"from: at most {MAX_MESSAGES} messages are allowed in one task"
    for index, message in enumerate(messages):
        where = f"from[{index}]" if isinstance(value, list) else "from"
        if not isinstance(message, dict):
            return f"{where}: a message (a map with `data`) is required"
        for name in message:
            if name not in known:
                return f"{where}.{name}: not a property of a message (known: {', '.join(known)})"
        if message.get("data") is None:
            return f"{where}.data: the message's data is required"
        if string_data and not isinstance(message["data"], str):
            return f"{where}.data: a string is required"
        delay = message.get("delaySeconds")
        if delay is not None and not (isinstance(delay, int) and 0 <= delay <= 900):
            return f"{where}.delaySeconds: a number of seconds from 0 to 900 is required"
    return None


def validate_aws_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with an AWS task's properties as `field: problem`, or None."""
    required = {LAMBDA_INVOKE: "functionArn", SQS_PUBLISH: "queueUrl", SNS_PUBLISH: "topicArn"}[task_type]
    if not isinstance(props.get(required), str) or not props[required].strip():
        return f"{required}: a non-empty string is required"
    if "region" in props and not isinstance(props["region"], str):
        return "region: a region name such as eu-west-1 is required"
    if task_type == LAMBDA_INVOKE:
        payload = props.get("functionPayload")
        if payload is not None and not isinstance(payload, dict) and not (isinstance(payload, str) and "{{" in payload):
            return "functionPayload: a map (sent as a JSON object), or an expression giving one, is required"
        return None
    if "from" not in props:
        return "from: a message or a list of messages is required"
    if task_type == SQS_PUBLISH:
        return _from_problem(props["from"], SQS_MESSAGE, string_data=False)
    return _from_problem(props["from"], SNS_MESSAGE, string_data=True)
