"""A backfill's lifecycle as EventBridge events, so a team can route them (a rule to Slack, email, a ticket):
created, paused, resumed, succeeded, failed, cancelled. Each is published once, by the write that made the
transition (the create, the change whose write flipped the hold, the slot whose failure paused it, the write that
stored the end), after that write.

The backfill is the truth and the event a notice: a publish that fails is logged and the backfill carries on
as if it had not been tried. An event lost so (a crash after the write, EventBridge down) is not sent again.
"""

import json
from datetime import datetime
from enum import StrEnum

from aws_lambda_powertools import Logger

from backfill_core import metrics
from backfill_core.aws_clients import events
from backfill_core.backfills.model import BackfillSpec, BackfillStatus
from backfill_core.backfills.progress import Hold, Progress, settled_status
from backfill_core.kestra_model import KestraModel
from backfill_core.settings import settings

logger = Logger(child=True)

SOURCE = "kestra.backfills"


class Lifecycle(StrEnum):
    CREATED = "created"
    PAUSED = "paused"
    RESUMED = "resumed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def detail_type(self) -> str:
        """EventBridge's detail-type, which a rule's pattern matches: "Backfill Succeeded"."""
        return f"Backfill {self.value.capitalize()}"


ENDS = {
    BackfillStatus.SUCCEEDED: Lifecycle.SUCCEEDED,
    BackfillStatus.FAILED: Lifecycle.FAILED,
    BackfillStatus.CANCELLED: Lifecycle.CANCELLED,
}


class BackfillEvent(KestraModel):
    """An event's detail: which backfill, what happened, and its counts after it."""

    event: Lifecycle
    backfill_id: str
    tenant: str
    namespace: str
    flow_id: str
    trigger_id: str
    start: datetime
    end: datetime
    total: int
    succeeded: int
    failed: int
    skipped: int
    cancelled: int
    # Why it paused: its failure policy's message, "trigger disabled" or "outside its run window"; none when a person
    # paused it.
    reason: str | None = None
    created_by: str | None = None


def hold_change(before: Progress, after: Progress) -> Lifecycle | None:
    """What a write that took `before` to `after` did to the hold of a running backfill: paused (by a person, its
    trigger disabled, its failure policy, its run window) or resumed; None when it did neither. Stepping aside a
    moment for a live slot is neither."""
    held_before, held_after = before.holds - {Hold.YIELDING}, after.holds - {Hold.YIELDING}
    if settled_status(after) != BackfillStatus.RUNNING or bool(held_before) == bool(held_after):
        return None
    return Lifecycle.PAUSED if held_after else Lifecycle.RESUMED


def event_of(kind: Lifecycle, spec: BackfillSpec, progress: Progress) -> BackfillEvent:
    reason = None
    if kind == Lifecycle.PAUSED:
        if progress.paused:
            reason = progress.pause_reason
        elif progress.trigger_disabled:
            reason = "trigger disabled"
        elif progress.window_closed:
            reason = "outside its run window"
    return BackfillEvent(
        event=kind,
        backfill_id=spec.id,
        tenant=spec.tenant,
        namespace=spec.namespace,
        flow_id=spec.flow_id,
        trigger_id=spec.trigger_id,
        start=spec.start,
        end=spec.end,
        total=progress.total,
        succeeded=progress.succeeded,
        failed=progress.failed,
        skipped=progress.skipped,
        cancelled=progress.cancelled,
        reason=reason,
        created_by=spec.created_by,
    )


def publish(kind: Lifecycle | None, spec: BackfillSpec, progress: Progress) -> None:
    """Count and publish the transition `kind` (None: nothing happened) the caller's write made. Never raises."""
    if kind is None:
        return
    if kind == Lifecycle.CREATED:
        metrics.backfill_created()
    elif kind in ENDS.values():
        metrics.backfill_ended()
    log = {"backfill_id": spec.id, "event": kind.value}
    try:
        detail = event_of(kind, spec, progress).to_json()
        logger.info(f"backfill {kind.value}", extra=log)
        answer = events().put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": kind.detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": settings().event_bus_name,
                    "Resources": [],
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            logger.warning(
                "backfill event refused by EventBridge",
                extra={**log, "error": failed.get("ErrorCode"), "message": failed.get("ErrorMessage")},
            )
    except Exception:  # a notice lost, never a backfill's write undone or failed
        logger.exception("backfill event not published", extra=log)
