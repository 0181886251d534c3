"""Kestra's lambda.Invoke, sqs.Publish and sns.Publish as the task runner makes them: botocore with the task
runner's own role (the default credential chain of its process), in the task's `region` or the runner's.

Their properties arrive rendered once by the engine: a message's data is sent as it is (Kestra renders a
message's fields a second time; here a caller's `{{ }}` stays text). Outputs are Kestra's: `messagesCount` for
the publishers; for Invoke, `contentLength` and `contentType`, and, since Kestra's `uri` (the response written to
internal storage) needs a storage this deployment does not have yet, the response itself as `body`, bounded."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backfill_core import aws_clients
from backfill_core.flows.tasks.aws_types import LAMBDA_INVOKE, SNS_PUBLISH, SQS_PUBLISH, messages_of
from backfill_core.flows.tasks.http_request import MAX_BODY_BYTES

Log = Callable[[str, str, datetime], None]
SQS_BATCH = 10  # SendMessageBatch's largest batch


def _client(service: Literal["lambda", "sqs", "sns"], props: dict[str, Any], timeout: float, attempts: int):
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=min(10.0, timeout),
        read_timeout=timeout,
    )
    return aws_clients.client(service, config, props.get("region") or None)


def _now() -> datetime:
    return datetime.now().astimezone()


def run_aws_task(task_type: str, props: dict[str, Any], timeout: float, log: Log) -> tuple[bool, dict[str, Any]]:
    """Run one AWS task; (succeeded, Kestra's outputs). A failure is logged and gives no outputs."""
    try:
        if task_type == LAMBDA_INVOKE:
            return _invoke(props, timeout, log)
        if task_type == SQS_PUBLISH:
            return _sqs_publish(props, timeout, log)
        if task_type == SNS_PUBLISH:
            return _sns_publish(props, timeout, log)
        raise ValueError(f"not an AWS task type: {task_type}")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        log("ERROR", f"{task_type.rsplit('.', 2)[-2]}: {error.get('Code')}: {error.get('Message')}", _now())
    except (BotoCoreError, ValueError, TypeError) as exc:
        log("ERROR", f"{task_type.rsplit('.', 2)[-2]}: {exc}", _now())
    return False, {}


def _invoke(props: dict[str, Any], timeout: float, log: Log) -> tuple[bool, dict[str, Any]]:
    function = str(props["functionArn"])
    request: dict[str, Any] = {"FunctionName": function, "InvocationType": "RequestResponse"}
    payload = props.get("functionPayload")
    if isinstance(payload, str):  # an expression, rendered: Kestra reads it as a JSON object
        payload = json.loads(payload) if payload.strip() else None
        if payload is not None and not isinstance(payload, dict):
            raise ValueError("functionPayload: the expression must give a JSON object")
    if payload:
        request["Payload"] = json.dumps(payload).encode()
    # One attempt: a retried invocation could run the function twice.
    answer = _client("lambda", props, timeout, attempts=1).invoke(**request)
    payload = answer["Payload"].read()
    content_type = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("content-type")
    content_type = content_type or "application/octet-stream"
    if answer.get("FunctionError"):
        detail = payload[:2000].decode(errors="replace") if "json" in content_type else ""
        log("ERROR", f"Lambda Invoke task responded with error for function: {function}. {detail}".strip(), _now())
        return False, {}
    if len(payload) > MAX_BODY_BYTES:
        log(
            "ERROR",
            f"The function's response is {len(payload):,} bytes, more than the {MAX_BODY_BYTES:,} a task run may "
            "keep in its outputs (Kestra writes it to internal storage, which is not supported yet)",
            _now(),
        )
        return False, {}
    try:
        body = payload.decode()
    except UnicodeDecodeError:
        log("ERROR", "The function's response is not text; only a text response can be kept in outputs", _now())
        return False, {}
    log("DEBUG", f"Lambda {function} invoked successfully", _now())
    return True, {"contentLength": len(payload), "contentType": content_type, "body": body}


def _sqs_body(data: Any) -> str:
    return data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _sqs_publish(props: dict[str, Any], timeout: float, log: Log) -> tuple[bool, dict[str, Any]]:
    queue_url, client = str(props["queueUrl"]), _client("sqs", props, timeout, attempts=3)
    messages, sent = messages_of(props["from"]), 0
    for start in range(0, len(messages), SQS_BATCH):
        entries = []
        for index, message in enumerate(messages[start : start + SQS_BATCH]):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": _sqs_body(message["data"])}
            if message.get("groupId"):
                entry["MessageGroupId"] = str(message["groupId"])
            if message.get("deduplicationId"):
                entry["MessageDeduplicationId"] = str(message["deduplicationId"])
            if message.get("delaySeconds") is not None:
                entry["DelaySeconds"] = int(message["delaySeconds"])
            entries.append(entry)
        answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = answer.get("Failed") or []
        sent += len(answer.get("Successful") or [])
        if failed:
            details = [f"entry[{f['Id']}] code={f.get('Code')} message={f.get('Message')}" for f in failed]
            log("ERROR", f"SQS batch {start // SQS_BATCH + 1} had {len(failed)} failure(s): {details}", _now())
            return False, {}
    return True, {"messagesCount": sent}


def _sns_publish(props: dict[str, Any], timeout: float, log: Log) -> tuple[bool, dict[str, Any]]:
    topic, client = str(props["topicArn"]), _client("sns", props, timeout, attempts=3)
    fields = {
        "groupId": "MessageGroupId",
        "deduplicationId": "MessageDeduplicationId",
        "subject": "Subject",
        "phoneNumber": "PhoneNumber",
        "structure": "MessageStructure",
    }
    sent = 0
    for message in messages_of(props["from"]):
        request = {"TopicArn": topic, "Message": str(message["data"])}
        request |= {name: str(message[key]) for key, name in fields.items() if message.get(key)}
        if "PhoneNumber" in request:
            request.pop("TopicArn")  # SNS takes one target: a topic or a phone number
        client.publish(**request)
        sent += 1
    return True, {"messagesCount": sent}
