"""Typed domain errors. They say what went wrong, not how to answer it: the API maps each kind to its status code
(functions/api/errors.py)."""

from typing import Any


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    """The request cannot be acted on as it stands: malformed, or nothing there to act on (no running backfill)."""


class NotFound(DomainError):
    """The flow, trigger, backfill or execution it names does not exist."""


class Conflict(DomainError):
    """It contradicts the current state (an overlapping backfill, a disabled trigger, a finished backfill)."""


class BackfillContended(Conflict):
    """Too many writers on one backfill record at once: the change gave up and may be tried again soon."""


class SlotNotDue(DomainError):
    """A slot's message came before the time its backfill's rate limit dispatches it (a delay longer than SQS's
    15 minutes, or a message sent again): it waits out the rest in the queue, not in an executor."""

    def __init__(self, seconds: float):
        super().__init__(f"the slot is due in {seconds:.0f} s")
        self.seconds = seconds


class Invalid(DomainError):
    """A field's value is not acceptable; the message names the field."""


def trigger_disabled_conflict(namespace: str, flow_id: str, trigger_id: str) -> Conflict:
    return Conflict(
        f"Trigger {namespace}.{flow_id}.{trigger_id} is disabled; enable it "
        '(PUT /api/v1/triggers with "disabled": false) before backfilling'
    )


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller re-reads and tries again. `current`: what the write found
    instead, when DynamoDB said (so the retry needs no read)."""

    def __init__(self, message: str, current: Any = None):
        super().__init__(message)
        self.current = current


class SlotBusy(Exception):
    """Another live attempt owns this execution; the message is retried after its visibility timeout."""
