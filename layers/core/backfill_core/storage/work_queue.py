"""The SQS work queue: one message per slot to run, or per execution to run by id."""

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor

from backfill_core.aws_clients import SQS_CONNECTIONS, sqs
from backfill_core.settings import settings
from backfill_core.slots.message import SlotMessage, WorkMessage

BATCH = 10  # SendMessageBatch's most messages a call
MAX_DELAY_SECONDS = 900  # SQS's longest delay of a message
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's longest visibility timeout


class SendFailed(Exception):
    """Some messages were not accepted; their slots stay DISPATCHED and the watchdog sends them again."""


def send(messages: list[WorkMessage]) -> None:
    """SendMessageBatch takes ten messages: a window of 200 slots is 20 calls, sent side by side so that its last
    slot starts one SQS round trip after its first, not twenty (each call in a copy of the caller's context)."""
    batches = [messages[start : start + BATCH] for start in range(0, len(messages), BATCH)]
    if len(batches) <= 1:
        for batch in batches:
            _send_batch(batch)
        return
    with ThreadPoolExecutor(max_workers=min(len(batches), SQS_CONNECTIONS)) as pool:
        sent = [pool.submit(contextvars.copy_context().run, _send_batch, batch) for batch in batches]
        for one in sent:
            one.result()  # the first failure is raised, once every batch was tried


def _send_batch(batch: list[WorkMessage]) -> None:
    response = sqs().send_message_batch(
        QueueUrl=settings().work_queue_url,
        Entries=[
            {"Id": str(i), "MessageBody": m.model_dump_json(by_alias=True), "DelaySeconds": _delay_of(m)}
            for i, m in enumerate(batch)
        ],
    )
    if response.get("Failed"):
        raise SendFailed(f"{len(response['Failed'])} slot messages were not accepted: {response['Failed']}")


def _delay_of(message: WorkMessage) -> int:
    """Whole seconds until a slot's dispatch time (SQS's delay; the executor waits out the rest)."""
    if not isinstance(message, SlotMessage) or message.not_before is None:
        return 0
    return int(min(max(message.not_before.timestamp() - time.time(), 0), MAX_DELAY_SECONDS))


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
