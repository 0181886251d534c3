"""The SQS work queue: one message per slot to run, or per execution to run by id."""

from backfill_core.aws_clients import sqs
from backfill_core.settings import settings
from backfill_core.slots.message import WorkMessage


class SendFailed(Exception):
    """Some messages were not accepted; their slots stay DISPATCHED and the watchdog sends them again."""


def send(messages: list[WorkMessage]) -> None:
    client = sqs()
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        response = client.send_message_batch(
            QueueUrl=settings().work_queue_url,
            Entries=[{"Id": str(i), "MessageBody": m.model_dump_json(by_alias=True)} for i, m in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise SendFailed(f"{len(response['Failed'])} slot messages were not accepted: {response['Failed']}")


def send_later(message: WorkMessage, seconds: int) -> None:
    """One message, delivered once `seconds` have passed (SQS's delay, 900 s at most)."""
    sqs().send_message(
        QueueUrl=settings().work_queue_url, MessageBody=message.model_dump_json(by_alias=True), DelaySeconds=seconds
    )


def retry_soon(receipt_handle: str, seconds: int) -> None:
    """A message whose slot gave up under contention comes back in `seconds`, not after the queue's whole
    visibility timeout (sized for the longest flow)."""
    sqs().change_message_visibility(
        QueueUrl=settings().work_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
    )
