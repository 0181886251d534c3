"""What a person asks of backfills: create, cancel, retry the failed slots, change, and Kestra's trigger-level
pause, unpause and delete, one by one or in bulk."""

from collections.abc import Sequence

from backfill_core.backfills import events, progress_changes, slot_runs
from backfill_core.backfills.changes import (
    CHANGE_ATTEMPTS,
    Decide,
    change,
    change_found,
    check_no_overlap,
    kill_running,
)
from backfill_core.backfills.forecast import forecast
from backfill_core.backfills.model import Backfill, BackfillSpec, BackfillStatus
from backfill_core.backfills.planning import checked_concurrency, plan_backfill
from backfill_core.backfills.progress import Progress, RateLimit, pace
from backfill_core.backfills.queries import find_backfill, running_backfills_of, trigger_holds
from backfill_core.backfills.slots import send_slots
from backfill_core.backfills.state_machine import schedule_of
from backfill_core.backfills.view import backfill_view
from backfill_core.errors import (
    BadRequest,
    ConcurrentUpdate,
    Conflict,
    Invalid,
    NotFound,
    trigger_disabled_conflict,
)
from backfill_core.flows.model import in_namespace
from backfill_core.ids import new_id
from backfill_core.kestra_api.filters import Filter, matches
from backfill_core.kestra_api.requests import BackfillRequest, TriggerRef
from backfill_core.schedules.counting import count_slots
from backfill_core.schedules.kestra_time import from_storage_key
from backfill_core.schedules.run_window import open_now
from backfill_core.storage import flows_repository, triggers_repository
from backfill_core.storage.triggers_repository import BackfillStart

NO_BACKFILL = "No backfill found"


RETRY_BATCH = 1000  # failed slots one retry-failed call queues; the record must stay well under 400 KB


def create_backfill(tenant: str, ref: TriggerRef, request: BackfillRequest, created_by: str | None = None) -> Backfill:
    """Plan, then write, checked against the trigger's other backfills and the flow's revision in one
    transaction. A change in between (a backfill started, the flow updated or deleted) makes it plan again
    against what is there now: the answer is the one the request gets from the flow as it is, and nothing
    is written from a revision that is gone."""
    for _ in range(CHANGE_ATTEMPTS):
        try:
            return _create_once(tenant, ref, request, created_by)
        except ConcurrentUpdate:
            continue
    raise Conflict(
        f"Trigger {ref.namespace}.{ref.flow_id}.{ref.trigger_id} is changing too fast to add a backfill; retry"
    )


def _create_once(tenant: str, ref: TriggerRef, request: BackfillRequest, created_by: str | None) -> Backfill:
    plan = plan_backfill(tenant, ref, request)
    stored, trigger = plan.stored, plan.trigger
    # The API flag is checked by the create itself; planning refused a stored flow that no longer validates.
    if stored.flow is None or stored.flow.trigger_disabled(trigger, by_api=False):
        raise trigger_disabled_conflict(ref.namespace, ref.flow_id, ref.trigger_id)
    window = request.run_window.in_zone(trigger.timezone) if request.run_window else None
    total = count_slots(trigger.schedule(), plan.start, plan.end)
    predicted = forecast(
        ref.trigger_key(tenant), total, plan.concurrency, request.max_slots_per_minute, window, plan.at
    )
    spec = BackfillSpec(
        id=new_id(),
        tenant=tenant,
        namespace=ref.namespace,
        flow_id=ref.flow_id,
        trigger_id=ref.trigger_id,
        trigger_type=trigger.type,
        cron=trigger.cron or "",  # a Schedule trigger has one: the flow's validation requires it
        timezone=trigger.timezone,
        with_seconds=trigger.with_seconds,
        conditions=trigger.conditions,
        start=plan.start,
        end=plan.end,
        inputs=plan.inputs,
        labels=request.labels,
        order=request.order,
        reprocess=request.reprocess,
        max_failures=request.max_failures,
        run_window=window,
        live_first=request.live_first,
        forecast_seconds=predicted.seconds,
        forecast_basis=predicted.basis,
        forecast_cost_usd=predicted.cost_usd,
        total=total,
        previous_next_execution_date=trigger.schedule().next_after(plan.at),
        created=plan.at,
        created_by=created_by,
    )
    closed = not open_now(spec.run_window)  # created outside its run window: it waits for the opening
    first = 0 if closed else min(plan.concurrency, spec.total)  # the first window: lane n takes the n-th slot
    progress = Progress(
        total=spec.total,
        concurrency=plan.concurrency,
        window_closed=closed,
        max_slots_per_minute=request.max_slots_per_minute,
        cursor=first,
        slots={lane: lane for lane in range(first)},
        updated=plan.at,
    )
    paced = pace(progress, first, plan.at)
    if paced is not None:
        progress.next_dispatch_us = paced.next_us
    seen = check_no_overlap(spec.trigger_key, spec)
    triggers_repository.create_backfill(spec, progress, BackfillStart(seen, flows_repository.backfill_start(stored)))
    send_slots(spec, [(lane, lane, 0) for lane in range(first)], dues=dict(enumerate(paced.due_us)) if paced else None)
    events.publish(events.Lifecycle.CREATED, spec, progress)  # after the slots: a slow publish delays no run
    return backfill_view(spec, progress)


def cancel(tenant: str, backfill_id: str, kill: bool = False) -> Backfill:
    """POST /api/v1/backfills/{id}/cancel: as Kestra's delete, for one backfill by id."""
    found = find_backfill(tenant, backfill_id)
    if found.finished:
        raise Conflict(f"Backfill {backfill_id} is {found.status.value}; only a running backfill can be cancelled")
    cancelled = change_found(found.trigger_key, backfill_id, progress_changes.cancelling(kill))
    kill_running(cancelled)
    return cancelled


def retry_failed(tenant: str, backfill_id: str) -> tuple[Backfill, int]:
    """POST /api/v1/backfills/{id}/retry-failed: run the failed slots again (up to RETRY_BATCH a call), as
    new executions. Returns the backfill and how many slots were queued.

    The failed slots are read after the backfill, on each attempt: a slot's execution ends before the
    backfill counts it, so a slot that a concurrent retry already queued is in flight or queued in the
    read backfill, or its later round's execution exists. The write checks the trigger's STATE counter and the
    flow, as a create does: a backfill that ended and runs again must not overlap one started meanwhile, nor
    outlive its flow.
    """
    found = find_backfill(tenant, backfill_id)
    queued = 0

    def decide(spec: BackfillSpec, progress: Progress):
        nonlocal queued
        if progress.status in (BackfillStatus.CANCELLING, BackfillStatus.CANCELLED):
            status = "CANCELLED" if not progress.in_flight else progress.status.value
            raise Conflict(f"Backfill {backfill_id} is {status}; a cancelled backfill cannot retry")
        shown = backfill_view(spec, progress)
        busy = set(shown.inflight) | set(shown.retry)
        keys = slot_runs.failed_slot_keys(spec, progress.round, RETRY_BATCH, busy)
        schedule = schedule_of(spec)
        positions = [spec.order.index_of(schedule, spec.start, spec.end, from_storage_key(key)) for key in keys]
        wanted, queued = progress_changes.retry_failed(progress, positions)
        return wanted

    saved = change_found(found.trigger_key, backfill_id, decide, exclusive=True)
    return saved, queued


def change_backfill(
    tenant: str, backfill_id: str, concurrency: int | None, paused: bool | None, rate: RateLimit | None = None
) -> Backfill:
    """PATCH /api/v1/backfills/{id}: a new window size takes effect on this dispatch, a new rate limit from the next
    slot dispatched; a pause holds this backfill only (Kestra's trigger-level pause holds every backfill of the
    trigger)."""
    found = find_backfill(tenant, backfill_id)
    if concurrency is not None:
        checked_concurrency(concurrency, "concurrency")
    if found.finished:
        raise Conflict(f"Backfill {backfill_id} is {found.status.value}; only a running backfill can change")
    return change_found(
        found.trigger_key, backfill_id, lambda spec, p: progress_changes.change_window(p, concurrency, paused, rate)
    )


def bulk(tenant: str, action: str, refs: list[TriggerRef]) -> int:
    """Kestra's by-triggers / by-query forms: apply pause, unpause or delete to each trigger's running
    backfills; triggers without one are passed over. Returns how many triggers changed."""
    change = {"pause": pause, "unpause": unpause, "delete": delete}[action]
    count = 0
    for ref in refs:
        try:
            change(tenant, ref)
        except (BadRequest, NotFound, Invalid):  # no backfill, no such trigger, or a flow no longer valid
            continue
        count += 1
    return count


def triggers_matching(
    tenant: str, namespace: str | None, query: str | None, filters: Sequence[Filter] = ()
) -> list[TriggerRef]:
    """Schedule triggers in a namespace (or below it) whose flow or trigger id contains `query`, and which
    Kestra's trigger `filters` match."""
    found = []
    for stored in flows_repository.list_flows(tenant):
        flow = stored.flow
        if flow is None or not in_namespace(flow.namespace, namespace):
            continue
        for trigger in flow.triggers:
            text = f"{flow.namespace} {flow.id} {trigger.id}".lower()
            if not trigger.is_schedule or (query and query.lower() not in text):
                continue
            if matches(filters, trigger_holds(stored, trigger)):
                found.append(TriggerRef(namespace=flow.namespace, flow_id=flow.id, trigger_id=trigger.id))
    return found


def pause(tenant: str, ref: TriggerRef) -> Backfill:
    return _change_running(tenant, ref, lambda spec, p: progress_changes.change_window(p, None, True))[0]


def unpause(tenant: str, ref: TriggerRef) -> Backfill:
    return _change_running(tenant, ref, lambda spec, p: progress_changes.change_window(p, None, False))[0]


def delete(tenant: str, ref: TriggerRef, kill: bool = False) -> Backfill:
    cancelled = _change_running(tenant, ref, progress_changes.cancelling(kill))
    for backfill in cancelled:
        kill_running(backfill)
    return cancelled[0]


def _change_running(tenant: str, ref: TriggerRef, decide: Decide) -> list[Backfill]:
    """Kestra's trigger-level pause, unpause and delete act on every running backfill of the trigger (one
    that finished meanwhile is no longer there to change). Returns them, newest first; 400 if none."""
    key = ref.trigger_key(tenant)
    stored = flows_repository.get(tenant, ref.namespace, ref.flow_id)
    if stored.flow is None:  # its Trigger JSON cannot be shown; its backfills are held, or cancelled by a delete
        raise Invalid(stored.invalid_message())

    def unless_finished(spec: BackfillSpec, progress: Progress):
        if not progress.dispatching:
            raise BadRequest(NO_BACKFILL)
        return decide(spec, progress)

    changed = []
    for backfill in running_backfills_of(key):
        try:
            result = change(key, backfill.id, unless_finished)
        except BadRequest:
            continue
        if result is not None:
            changed.append(result)
    if not changed:
        raise BadRequest(NO_BACKFILL)
    return changed
