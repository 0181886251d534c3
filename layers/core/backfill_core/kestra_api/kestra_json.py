"""Kestra's JSON, derived from our records: the one place each answer model of kestra_responses is built."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder

from backfill_core.backfills.model import Backfill
from backfill_core.backfills.planning import BackfillPreview
from backfill_core.backfills.queries import SlotView
from backfill_core.backfills.state_machine import current_date, display_status
from backfill_core.flows.execution import Execution
from backfill_core.flows.labels import normalize_labels
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.flows.validation import FlowCheck
from backfill_core.flows.yaml_text import load_yaml
from backfill_core.kestra_api import dry_run_answers, flow_answers
from backfill_core.kestra_api import responses as answer
from backfill_core.kestra_api.trigger_answers import BulkAnswer, TriggerContext, TriggerEntry
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.schedules.run_window import opens_next
from backfill_core.triggers.model import TriggerState


def _plain(value: Any) -> Any:
    """Values read from YAML (a flow's document, its inputs' defaults) in JSON's types, by the API's own
    encoder (Powertools'): a YAML timestamp is written as its isoformat text, as the answers always wrote it."""
    return jsonable_encoder(value)


def flow_json(stored: StoredFlow) -> flow_answers.FlowWithSource:
    """Kestra's Flow JSON; for a stored flow that no longer validates, Kestra's FlowWithException: the flow as
    stored, and why in `exception`."""
    if stored.flow is None:
        try:
            document = load_yaml(stored.source)
        except (RecursionError, ValueError):  # ValueError: YamlProblem too
            document = None
        document = {
            **(document if isinstance(document, dict) else {}),
            "id": stored.id,
            "namespace": stored.namespace,
            "exception": stored.invalid_message(),
        }
    else:
        document = load_yaml(stored.source)
        if document.get("labels") is not None:  # Kestra writes a flow's labels as a list, whichever way they were given
            document["labels"] = [label.to_json() for label in normalize_labels(document["labels"])]
        document.setdefault("disabled", False)  # as Kestra writes every flow; `draft` (2.0): none is, here
        document.setdefault("draft", False)
    return flow_answers.FlowWithSource.model_validate(
        {
            **_plain(document),
            "revision": stored.revision,
            "tenantId": stored.tenant,
            "deleted": False,
            "updated": stored.updated,
            "source": stored.source,
        }
    )


def backfill_json(backfill: Backfill) -> answer.Backfill:
    """Kestra's Backfill object; our extra fields (id, status, counts) sit beside Kestra's."""
    return answer.Backfill(**_backfill_fields(backfill))


def _backfill_fields(backfill: Backfill) -> dict[str, Any]:
    return {
        "start": backfill.start,
        "end": backfill.end,
        "current_date": current_date(backfill) or backfill.end,
        "paused": backfill.paused,
        "inputs": _plain(backfill.inputs),
        "labels": backfill.labels,
        "previous_next_execution_date": backfill.previous_next_execution_date,
        "id": backfill.id,
        "status": display_status(backfill),
        "pause_reason": backfill.pause_reason,
        "concurrency": backfill.concurrency,
        "max_slots_per_minute": backfill.max_slots_per_minute,
        "run_window": backfill.run_window,
        "live_first": backfill.live_first,
        "yielding_to_live": backfill.yielding_since is not None,
        "forecast_seconds": backfill.forecast_seconds,
        "forecast_basis": backfill.forecast_basis,
        "forecast_cost_usd": backfill.forecast_cost_usd,
        "next_window_opening": (
            opens_next(backfill.run_window) if backfill.run_window and backfill.window_closed else None
        ),
        "order": backfill.order,
        "reprocess": backfill.reprocess,
        "max_failures": backfill.max_failures,
        "dispatched": backfill.dispatched,
        "running": len([s for s in backfill.inflight.values() if s.state == "RUNNING"]),
        "trigger_disabled": backfill.trigger_disabled,
        "succeeded": backfill.succeeded,
        "failed": backfill.failed,
        "skipped": backfill.skipped,
        "cancelled": backfill.cancelled,
        "counts": counts_json(backfill),
        **progress_json(backfill, now()),
    }


def counts_json(backfill: Backfill) -> answer.BackfillCounts:
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
    return answer.BackfillCounts.model_validate({"PENDING": pending, **in_flight, **ended})


def progress_json(backfill: Backfill, at: datetime) -> dict[str, Any]:
    """Total slots, percent done, and an ETA from the rate observed since the backfill started."""
    done = backfill.ended
    ran = done - backfill.cancelled
    elapsed = max((at - backfill.created).total_seconds(), 1e-3)
    rate = ran / elapsed  # slots a second
    remaining = max(backfill.total - done, 0)
    eta = None
    if backfill.status == "RUNNING" and not backfill.held and rate > 0:
        eta = at + timedelta(seconds=remaining / rate)
    return {
        "total": backfill.total,
        "percent": round(100.0 * done / backfill.total, 1) if backfill.total else 100.0,
        "slots_per_minute": round(rate * 60, 2),
        "eta_date": eta,
    }


def backfill_resource_json(backfill: Backfill) -> answer.BackfillResource:
    """Our /api/v1/backfills resource: Kestra's backfill fields, its identity, schedule and history."""
    return answer.BackfillResource(
        namespace=backfill.namespace,
        flow_id=backfill.flow_id,
        trigger_id=backfill.trigger_id,
        **_backfill_fields(backfill),
        cron=backfill.cron,
        timezone=backfill.timezone,
        created=backfill.created,
        created_by=backfill.created_by,
        updated=backfill.updated,
    )


def retry_failed_json(backfill: Backfill, retried: int) -> answer.RetryFailedResult:
    return answer.RetryFailedResult(retried=retried, backfill=backfill_resource_json(backfill))


def bulk_json(count: int) -> BulkAnswer:
    return BulkAnswer(count=count, total_items=count)


def slots_json(slots: Sequence[SlotView]) -> list[answer.Slot]:
    return [answer.Slot.model_validate(slot) for slot in slots]


def dry_run_json(preview: BackfillPreview) -> dry_run_answers.DryRunResult:
    plan = preview.plan
    return dry_run_answers.DryRunResult(
        namespace=preview.ref.namespace,
        flow_id=preview.ref.flow_id,
        trigger_id=preview.ref.trigger_id,
        start=plan.start,
        end=plan.end,
        order=preview.request.order,
        reprocess=preview.request.reprocess,
        concurrency=plan.concurrency,
        inputs=_plain(plan.inputs),
        total=preview.total,
        run=preview.total - preview.skipped,
        skipped=preview.skipped,
        first_page=preview.first_page,
        last_page=preview.last_page,
        skipped_page=[dry_run_answers.SkippedSlot.model_validate(slot) for slot in preview.skipped_page],
        forecast=dry_run_answers.Forecast.model_validate(preview.forecast),
    )


def trigger_json(
    stored: StoredFlow, trigger: TriggerSpec, state: TriggerState, backfill: Backfill | None, at: datetime
) -> TriggerContext:
    """Kestra's Trigger (trigger context) JSON: `date` is the last slot the live schedule evaluated,
    `nextExecutionDate` the next one it will; dates are in the trigger's timezone."""
    schedule = trigger.schedule() if trigger.is_schedule else None
    evaluated = stored.evaluated(state)
    next_date = schedule.local_or_none(stored.next_execution_date(trigger, state)) if schedule else None
    updated = backfill.updated if backfill else at
    return TriggerContext(
        tenant_id=stored.tenant,
        namespace=stored.namespace,
        flow_id=stored.id,
        trigger_id=trigger.id,
        date=schedule.local(evaluated) if schedule else None,
        next_execution_date=next_date,
        backfill=backfill_json(backfill) if backfill and not backfill.finished else None,
        execution_id=None,
        updated_date=updated,
        updated_at=updated,
        evaluated_at=schedule.local(state.date) if schedule and state.date else None,
        next_evaluation_date=next_date,
        kind="SCHEDULE" if schedule else None,
        evaluate_running_date=None,
        worker_id=None,
        stop_after=trigger.stop_after,
        disabled=stored.flow is None or stored.flow.trigger_disabled(trigger, state.disabled),
    )


def trigger_search_entry(
    stored: StoredFlow, trigger: TriggerSpec, state: TriggerState, backfill: Backfill | None, at: datetime
) -> TriggerEntry:
    declared, context = _plain(trigger.to_kestra()), trigger_json(stored, trigger, state, backfill, at)
    return TriggerEntry(abstract_trigger=declared, trigger_context=context, trigger=declared, state=context)


def execution_json(execution: Execution) -> answer.Execution:
    """Kestra's Execution, from our record; what only the record keeps (its lease, its kind) is left out. A
    backfill's run is told by its `system.backfill` label, as in Kestra. A replay's original is the execution it
    replays; any other is its own original, at Kestra's first attempt."""
    created = execution.state.histories[0].date if execution.state.histories else execution.state.start_date
    return answer.Execution.model_validate(
        {
            **dict(execution),
            "original_id": execution.original_id or execution.id,
            "metadata": {"attemptNumber": 1, "originalCreatedDate": format_date(created) if created else None},
        }
    )


def log_entry_json(entry: dict[str, Any]) -> answer.LogEntry:
    """A stored log line is Kestra's LogEntry JSON already."""
    return answer.LogEntry.model_validate(entry)


def validation_json(checks: Sequence[FlowCheck]) -> list[flow_answers.ValidateConstraintViolation]:
    return [
        flow_answers.ValidateConstraintViolation(
            index=check.index, flow=check.flow_id, namespace=check.namespace, constraints=check.problem
        )
        for check in checks
    ]
