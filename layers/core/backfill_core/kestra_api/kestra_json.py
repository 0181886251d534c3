"""Kestra's JSON for flows and triggers, derived from our records."""

from datetime import datetime, timedelta
from typing import Any

import yaml

from backfill_core.backfills.model import Backfill
from backfill_core.backfills.state_machine import current_date, display_status
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.schedules.kestra_time import format_date, now, parse_instant
from backfill_core.triggers.model import TriggerState


def flow_json(stored: StoredFlow) -> dict[str, Any]:
    """Kestra's Flow JSON; for a stored flow that no longer validates, Kestra's FlowWithException: the flow as
    stored, and why in `exception`."""
    if stored.flow is None:
        try:
            document = yaml.safe_load(stored.source)
        except (yaml.YAMLError, RecursionError, ValueError):
            document = None
        document = {
            **(document if isinstance(document, dict) else {}),
            "id": stored.id,
            "namespace": stored.namespace,
            "exception": stored.invalid_message(),
        }
    else:
        document = yaml.safe_load(stored.source)
    return {
        **document,
        "revision": stored.revision,
        "tenantId": stored.tenant,
        "deleted": False,
        "updated": stored.updated,
        "source": stored.source,
    }


def backfill_json(backfill: Backfill) -> dict[str, Any]:
    """Kestra's Backfill object; our extra fields (id, status, counts) sit beside Kestra's."""
    return {
        "start": format_date(backfill.start),
        "end": format_date(backfill.end),
        "currentDate": format_date(current_date(backfill) or backfill.end),
        "paused": backfill.paused,
        "inputs": backfill.inputs,
        "labels": [label.to_json() for label in backfill.labels],
        "previousNextExecutionDate": format_date(backfill.previous_next_execution_date),
        "id": backfill.id,
        "status": display_status(backfill),
        "pauseReason": backfill.pause_reason,
        "concurrency": backfill.concurrency,
        "order": backfill.order,
        "reprocess": backfill.reprocess,
        "maxFailures": backfill.max_failures,
        "dispatched": backfill.dispatched,
        "running": len([s for s in backfill.inflight.values() if s.state == "RUNNING"]),
        "triggerDisabled": backfill.trigger_disabled,
        "succeeded": backfill.succeeded,
        "failed": backfill.failed,
        "skipped": backfill.skipped,
        "cancelled": backfill.cancelled,
        "counts": counts_json(backfill),
        **progress_json(backfill, now()),
    }


def counts_json(backfill: Backfill) -> dict[str, int]:
    """Slots by state, adding up to the total: what ended, what is in flight, and what waits (PENDING)."""
    in_flight = {state: 0 for state in ("DISPATCHED", "RUNNING", "PARKED")}
    for slot in backfill.inflight.values():
        in_flight[slot.state.value] += 1
    ended = {
        "SUCCEEDED": backfill.succeeded,
        "FAILED": backfill.failed,
        "SKIPPED": backfill.skipped,
        "CANCELLED": backfill.cancelled,
    }
    pending = max(backfill.total - sum(ended.values()) - sum(in_flight.values()), 0)
    return {"PENDING": pending, **in_flight, **ended}


def progress_json(backfill: Backfill, at: datetime) -> dict[str, Any]:
    """Total slots, percent done, and an ETA from the rate observed since the backfill started."""
    done = backfill.ended
    ran = done - backfill.cancelled
    elapsed = max((at - backfill.created).total_seconds(), 1e-3)
    rate = ran / elapsed  # slots a second
    remaining = max(backfill.total - done, 0)
    eta = None
    if backfill.status == "RUNNING" and not backfill.held and rate > 0:
        eta = format_date(at + timedelta(seconds=remaining / rate))
    return {
        "total": backfill.total,
        "percent": round(100.0 * done / backfill.total, 1) if backfill.total else 100.0,
        "slotsPerMinute": round(rate * 60, 2),
        "etaDate": eta,
    }


def backfill_resource_json(backfill: Backfill) -> dict[str, Any]:
    """Our /api/v1/backfills resource: Kestra's backfill fields, its identity, schedule and history."""
    return {
        "namespace": backfill.namespace,
        "flowId": backfill.flow_id,
        "triggerId": backfill.trigger_id,
        **backfill_json(backfill),
        "cron": backfill.cron,
        "timezone": backfill.timezone,
        "created": format_date(backfill.created),
        "createdBy": backfill.created_by,
        "updated": format_date(backfill.updated),
    }


def trigger_json(
    stored: StoredFlow, trigger: TriggerSpec, state: TriggerState, backfill: Backfill | None, at: datetime
) -> dict[str, Any]:
    """Kestra's Trigger (trigger context) JSON: `date` is the last slot the live schedule evaluated,
    `nextExecutionDate` the next one it will; dates are in the trigger's timezone."""
    schedule = trigger.schedule() if trigger.is_schedule else None
    evaluated = state.date or parse_instant(stored.updated)  # never evaluated yet: from its registration
    return {
        "tenantId": stored.tenant,
        "namespace": stored.namespace,
        "flowId": stored.id,
        "triggerId": trigger.id,
        "date": format_date(schedule.local(evaluated)) if schedule else None,
        "nextExecutionDate": format_date(schedule.local(schedule.next_after(evaluated))) if schedule else None,
        "backfill": backfill_json(backfill) if backfill and not backfill.finished else None,
        "executionId": None,
        "updatedDate": format_date(backfill.updated if backfill else at),
        "evaluateRunningDate": None,
        "workerId": None,
        "stopAfter": trigger.stop_after,
        "disabled": stored.flow is None or stored.flow.trigger_disabled(trigger, state.disabled),
    }


def trigger_search_entry(
    stored: StoredFlow, trigger: TriggerSpec, state: TriggerState, backfill: Backfill | None, at: datetime
) -> dict[str, Any]:
    return {
        "abstractTrigger": trigger.to_kestra(),
        "triggerContext": trigger_json(stored, trigger, state, backfill, at),
    }
