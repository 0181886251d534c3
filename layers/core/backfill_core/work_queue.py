"""The SQS work queue: one message per slot to run."""

from .aws_clients import sqs
from .models import SlotMessage
from .settings import settings


class SendFailed(Exception):
    """Some messages were not accepted; their slots stay DISPATCHED and the watchdog sends them again."""


def send(messages: list[SlotMessage]) -> None:
    client = sqs()
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        response = client.send_message_batch(
            QueueUrl=settings().work_queue_url,
            Entries=[{"Id": str(i), "MessageBody": m.model_dump_json(by_alias=True)} for i, m in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise SendFailed(f"{len(response['Failed'])} slot messages were not accepted: {response['Failed']}")
