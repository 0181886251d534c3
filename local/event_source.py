"""Drives the executor from the work queue as Lambda's SQS event source mapping does: long-poll a batch,
invoke, delete what succeeded, leave the reported failures to come back after the visibility timeout
(and reach the dead-letter queue after maxReceiveCount)."""

import logging
import threading

from .lambda_runtime import LambdaContext

log = logging.getLogger("local.event_source")


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePoller:
    """One poller = one concurrent executor environment, with its own copy of the handler module."""

    def __init__(
        self,
        sqs,
        queue_url: str,
        queue_arn: str,
        handler,
        batch_size: int,
        timeout_seconds: float,
        region: str = "us-east-1",
        wait_seconds: int = 1,
    ):
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size
        self.timeout_seconds = timeout_seconds
        self.region = region
        self.wait_seconds = wait_seconds
        self.stopping = threading.Event()

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; returns how many messages were received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            response = self.handler(event, LambdaContext("ExecutorFunction", self.timeout_seconds)) or {}
        except Exception:
            log.exception("executor invocation failed; the whole batch will be retried")
            return len(messages)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if not self.stopping.is_set():
                    log.exception("polling the work queue failed")
                    self.stopping.wait(1)

    def start(self, name: str) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=name, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
