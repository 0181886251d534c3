"""moto applies a DynamoDB conditional write as a read, a check and a store with no lock, so two threads
can both pass `version = :seen` and one update is lost (DynamoDB itself applies each write atomically).
Tests that run executors in threads serialize moto's DynamoDB requests to get DynamoDB's semantics."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    real = DynamoHandler.call_action

    def call_action(self):
        with _LOCK:
            return real(self)

    DynamoHandler.call_action = call_action
    try:
        yield
    finally:
        DynamoHandler.call_action = real
