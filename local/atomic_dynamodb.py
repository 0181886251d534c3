"""moto applies a DynamoDB conditional write as a read, a check and a store with no lock, so two threads
can both pass `version = :seen` and one update is lost; DynamoDB applies each write atomically. The local
stack and the tests run executors in threads against moto in this process, so its DynamoDB requests are
serialized to get DynamoDB's semantics (measured: 422 conditional writes succeeded, the version moved 418)."""

import threading

from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()


def serialize_dynamodb_requests() -> None:
    """Idempotent: every later DynamoDB request to moto in this process runs under one lock."""
    real = DynamoHandler.call_action
    if getattr(real, "serialized", False):
        return

    def call_action(self):
        with _LOCK:
            return real(self)

    call_action.serialized = True
    DynamoHandler.call_action = call_action
