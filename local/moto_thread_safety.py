"""moto is not thread-safe where the local stack and the threaded tests need it to be, and AWS is:
- DynamoDB applies a conditional write as a read, a check and a store with no lock, so two threads can
  both pass `version = :seen` and one update is lost (measured: 422 writes succeeded, the version moved 418);
- SQS deletes a message by rebuilding the queue's list and assigning it back, so a message sent by another
  thread in between can be lost (read in moto 5.2.5's Queue.delete_message; a dispatched slot would then wait
  for the watchdog).
Executor pollers run in threads against moto in this process, so these requests are serialized."""

import threading

from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import Queue

_LOCK = threading.RLock()


def _serialized(method):
    if getattr(method, "serialized", False):
        return method

    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    call.serialized = True
    return call


def serialize_moto_requests() -> None:
    """Idempotent: moto's DynamoDB requests, and its SQS queue's sends and deletes, each run under one lock."""
    DynamoHandler.call_action = _serialized(DynamoHandler.call_action)
    Queue.add_message = _serialized(Queue.add_message)
    Queue.delete_message = _serialized(Queue.delete_message)
