"""moto is not thread-safe where the local stack and the threaded tests need it to be, and AWS is:
- DynamoDB applies a conditional write as a read, a check and a store with no lock, so two threads can
  both pass `version = :seen` and one update is lost (measured: 422 writes succeeded, the version moved 418);
- SQS deletes a message by rebuilding the queue's list and assigning it back, so a message sent by another
  thread in between can be lost (read in moto 5.2.5's Queue.delete_message; a dispatched slot would then wait
  for the watchdog).
Executor pollers run in threads against moto in this process, so these requests are serialized.

The same lock orders the local stack's journal (local/state.py): each change is handed to the observer
inside the lock that applied it, before moto answers, so the journal's order is the order of the changes
and nothing is answered that the journal does not hold."""

import threading
from typing import Protocol

from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import Message, Queue, SQSBackend

_LOCK = threading.RLock()
# What changes a table's items: journaled when it succeeds. Table and queue definitions are not journaled;
# they come from template.yaml at every start.
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class ChangeObserver(Protocol):
    def dynamodb_written(self, action: str, body: str, region: str, account: str) -> None: ...
    def message_added(self, queue: Queue, message: Message) -> None: ...
    def message_received(self, message: Message) -> None: ...
    def messages_deleted(self, queue: Queue, message_ids: list[str]) -> None: ...
    def queue_purged(self, queue: Queue) -> None: ...


_observer: ChangeObserver | None = None


def observe(observer: ChangeObserver | None) -> None:
    """Hand every later change to `observer` (None: to nobody)."""
    global _observer
    with _LOCK:
        _observer = observer


def _serialized(method):
    if getattr(method, "serialized", False):
        return method

    def call(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    call.serialized = True
    return call


def _dynamodb_call_action(handler: DynamoHandler):
    body = handler.raw_body  # call_action replaces handler.body with the parsed parameters
    answer = _dynamodb_call_action.original(handler)
    action = handler._get_action()
    if _observer is not None and action in DYNAMODB_WRITES and answer[0] == 200:
        text = body.decode() if isinstance(body, bytes) else body
        _observer.dynamodb_written(action, text, handler.region, handler.current_account)
    return answer


def _add_message(queue: Queue, message: Message) -> None:
    _add_message.original(queue, message)
    if _observer is not None:
        _observer.message_added(queue, message)


def _delete_message(queue: Queue, receipt_handle: str) -> None:
    ids = [m.id for m in queue._messages if m.had_receipt_handle(receipt_handle)]
    _delete_message.original(queue, receipt_handle)
    if _observer is not None and ids:
        _observer.messages_deleted(queue, ids)


def _mark_received(message: Message, visibility_timeout: int | None = None) -> None:
    _mark_received.original(message, visibility_timeout)
    if _observer is not None:
        _observer.message_received(message)


def _purge_queue(backend: SQSBackend, queue_name: str) -> None:
    _purge_queue.original(backend, queue_name)
    if _observer is not None:
        _observer.queue_purged(backend.get_queue(queue_name))


def _install(owner, name: str, replacement) -> None:
    current = getattr(owner, name)
    if getattr(current, "serialized", False):
        return
    replacement.original = current
    setattr(owner, name, _serialized(replacement))


def serialize_moto_requests() -> None:
    """Idempotent: moto's DynamoDB requests, and its SQS queues' sends, receives, deletes and purges, each
    run under one lock, and report what they changed to the observer if there is one."""
    _install(DynamoHandler, "call_action", _dynamodb_call_action)
    _install(Queue, "add_message", _add_message)
    _install(Queue, "delete_message", _delete_message)
    _install(Message, "mark_received", _mark_received)
    _install(SQSBackend, "purge_queue", _purge_queue)


def locked():
    """The lock every change of moto's state is made under (for a consistent snapshot)."""
    return _LOCK
