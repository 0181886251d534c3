"""Typed domain errors; the API shapes each into Kestra's `{"message": ...}` with its status code."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class BackfillContended(Conflict):
    """Too many writers on one backfill record at once: the change gave up and may be tried again soon."""


class Invalid(DomainError):
    status_code = 422


def trigger_disabled_conflict(namespace: str, flow_id: str, trigger_id: str) -> Conflict:
    return Conflict(
        f"Trigger {namespace}.{flow_id}.{trigger_id} is disabled; enable it "
        '(PUT /api/v1/triggers with "disabled": false) before backfilling'
    )


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller re-reads and tries again."""


class SlotBusy(Exception):
    """Another live attempt owns this execution; the message is retried after its visibility timeout."""
