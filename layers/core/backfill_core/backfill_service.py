"""Backfill use cases: create, pause, unpause, delete, and the executor's claim and finish of a slot.

Every change is a pure transition from backfill_state applied with a conditional write; the slots it
dispatches are sent after the write, so a crash in between leaves them DISPATCHED for the watchdog.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from . import backfill_state, flow_inputs, shell_safety, work_queue
from .api_models import BackfillRequest, TriggerRef, TriggerUpdate
from .cron_slots import CronSchedule
from .errors import (
    BackfillContended,
    BadRequest,
    ConcurrentUpdate,
    Conflict,
    Invalid,
    NotFound,
    trigger_disabled_conflict,
)
from .flows import TriggerSpec, in_namespace
from .ids import new_id
from .kestra_time import format_date, from_storage_key, now, storage_key
from .models import Backfill, SlotMessage, SlotOutcome
from .repositories import executions_repository, flows_repository, triggers_repository
from .repositories.flows_repository import StoredFlow
from .repositories.triggers_repository import BackfillStart, TriggerKey
from .reprocess_policy import skip_reason
from .settings import settings
from .slot_count import count_slots, nth_slot

NO_BACKFILL = "No backfill found"
CHANGE_ATTEMPTS = 20
# A change keeps retrying this long once its attempts are spent (well under API Gateway's 29 s): at concurrency
# 50 every slot's claim and finish write the one backfill record, and a slot whose change gave up came back only
# after the queue's visibility timeout (12 minutes). The backoff grows to 2 s, so that writers kept waiting
# do not flood the record with reads and losing writes.
CHANGE_SECONDS = 20.0
MAX_SLOTS_PAGE_SIZE = 1000  # the API checks page >= 1 and 1 <= size <= this (in the OpenAPI document too)
RETRY_BATCH = 1000  # failed slots one retry-failed call queues; the record must stay well under 400 KB
logger = Logger(child=True)


def schedule_trigger(tenant: str, namespace: str, flow_id: str, trigger_id: str):
    """The flow and its Schedule trigger, or 404/422 naming what is missing."""
    stored = flows_repository.get(tenant, namespace, flow_id)
    if stored.flow is None:
        raise Invalid(stored.invalid_message())
    trigger = stored.flow.trigger(trigger_id)
    if trigger is None:
        raise NotFound(f"Trigger not found: triggerId '{trigger_id}' is not a trigger of flow {namespace}.{flow_id}")
    if not trigger.is_schedule:
        raise Invalid(
            f"triggerId: trigger '{trigger_id}' is a {trigger.type}; only Schedule triggers can be backfilled"
        )
    return stored, trigger


@dataclass(frozen=True)
class BackfillPlan:
    """A checked request: what a backfill would do, before anything is written."""

    stored: StoredFlow
    trigger: TriggerSpec
    start: datetime
    end: datetime
    inputs: dict
    concurrency: int
    first: datetime
    at: datetime


@dataclass(frozen=True)
class SlotView:
    """One slot as a person reads it: its state, its latest execution and, when skipped, why."""

    date: datetime  # in the trigger's timezone
    state: str
    execution_id: str | None
    reason: str | None


@dataclass(frozen=True)
class BackfillPreview:
    """A dry run: the plan, how many slots it would run and skip, the first and last pages of the slots it
    would run (in its order) and the first page of those it would skip. Dates in the trigger's timezone."""

    ref: TriggerRef
    request: BackfillRequest
    plan: BackfillPlan
    total: int
    skipped: int
    first_page: list[datetime]
    last_page: list[datetime]
    skipped_page: list[SlotView]


def plan_backfill(tenant: str, ref: TriggerRef, request: BackfillRequest) -> BackfillPlan:
    """Every check of a new backfill (422 naming the field); shared by the dry run and the real thing."""
    stored, trigger = schedule_trigger(tenant, ref.namespace, ref.flow_id, ref.trigger_id)
    at = now()
    start = _aware(request.start)
    end = _aware(request.end) if request.end is not None else at
    if request.end is not None and end > at:
        raise Invalid(f"backfill.end: {format_date(end)} is in the future; a backfill replays the past")
    if start > end:
        raise Invalid(f"backfill.start: {format_date(start)} is after backfill.end {format_date(end)}")
    schedule = trigger.schedule()
    if request.order == "newest_first":
        first = schedule.slots_newest_first(start, end, 1)
    else:
        first = schedule.slots(start, end, 1)
    if not first:
        raise Invalid(
            f"backfill.start: no slot of cron '{trigger.cron}' ({trigger.timezone}) lies between "
            f"{format_date(start)} and {format_date(end)}"
        )
    inputs = flow_inputs.resolve(
        stored.flow.inputs, trigger.inputs, request.inputs, stored.flow.variables(stored.revision)
    )
    shell_safety.check_caller_values(stored.flow, request.labels, request.inputs)
    concurrency = checked_concurrency(request.concurrency or settings().default_concurrency, "backfill.concurrency")
    return BackfillPlan(stored, trigger, start, end, inputs, concurrency, first[0], at)


def skipped_slots(
    schedule: CronSchedule,
    key: TriggerKey,
    policy: str,
    start: datetime,
    end: datetime,
    besides: str | None = None,
) -> dict[str, tuple[str, str]]:
    """The slots of a range the reprocess policy would skip, by storage key: (reason, execution id). The
    executions of backfill `besides` (the one asking) do not count."""
    if policy == "all":
        return {}
    prior = executions_repository.prior_executions(key.pk, start, end)
    skipped = {}
    for slot_key, executions in prior.items():
        reason = skip_reason(policy, [e for e in executions if besides is None or e.backfill_id != besides])
        slot = from_storage_key(slot_key)
        if reason and schedule.slots(slot, slot, 1) == [slot]:  # a slot of today's cron
            skipped[slot_key] = reason
    return skipped


def dry_run(tenant: str, ref: TriggerRef, request: BackfillRequest, page_size: int) -> BackfillPreview:
    """What the backfill would run and skip, counted without stepping through its slots, and the first
    and last pages of the slots it would run, in its order. Writes nothing."""
    plan = plan_backfill(tenant, ref, request)
    schedule = plan.trigger.schedule()
    key = TriggerKey(tenant, ref.namespace, ref.flow_id, ref.trigger_id)
    skipped = skipped_slots(schedule, key, request.reprocess, plan.start, plan.end)
    reach = page_size + len(skipped)  # enough slots that `page_size` of them run

    def to_run(slots: list[datetime]) -> list[datetime]:
        return [slot for slot in slots if storage_key(slot) not in skipped][:page_size]

    oldest = to_run(schedule.slots(plan.start, plan.end, reach))
    newest = to_run(schedule.slots_newest_first(plan.start, plan.end, reach))
    # Each page lists its slots in the backfill's order.
    first, last = (newest, oldest[::-1]) if request.order == "newest_first" else (oldest, newest[::-1])
    return BackfillPreview(
        ref=ref,
        request=request,
        plan=plan,
        total=count_slots(schedule, plan.start, plan.end),
        skipped=len(skipped),
        first_page=[schedule.local(slot) for slot in first],
        last_page=[schedule.local(slot) for slot in last],
        skipped_page=[
            SlotView(schedule.local(from_storage_key(k)), SlotOutcome.SKIPPED.value, execution_id, reason)
            for k, (reason, execution_id) in sorted(skipped.items())[:page_size]
        ],
    )


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
    backfill = Backfill(
        id=new_id(),
        tenant=tenant,
        namespace=ref.namespace,
        flow_id=ref.flow_id,
        trigger_id=ref.trigger_id,
        trigger_type=trigger.type,
        cron=trigger.cron or "",  # a Schedule trigger has one: the flow's validation requires it
        timezone=trigger.timezone,
        with_seconds=trigger.with_seconds,
        start=plan.start,
        end=plan.end,
        inputs=plan.inputs,
        labels=request.labels,
        concurrency=plan.concurrency,
        order=request.order,
        reprocess=request.reprocess,
        max_failures=request.max_failures,
        cursor=plan.first,
        total=count_slots(trigger.schedule(), plan.start, plan.end),
        previous_next_execution_date=trigger.schedule().next_after(plan.at),
        created=plan.at,
        created_by=created_by,
        updated=plan.at,
    )
    backfill, to_send = backfill_state.fill_window(backfill, plan.at)
    seen = _check_no_overlap(triggers_repository.key_of(backfill), backfill)
    triggers_repository.create_backfill(backfill, BackfillStart(seen, flows_repository.backfill_start(stored)))
    _send(backfill, to_send)
    return backfill


def _check_no_overlap(key: TriggerKey, backfill: Backfill) -> int:
    """409 naming a running backfill of the trigger whose range overlaps; else the STATE counter read,
    which the write then checks."""
    seen = triggers_repository.get_state(key).backfills
    # A cancelling backfill still runs slots: it blocks an overlapping one until they end.
    for other in triggers_repository.backfills_of_trigger(key, unsettled_only=True):
        if other.id != backfill.id and other.overlaps(backfill.start, backfill.end):
            raise Conflict(
                f"backfill.start: the range {format_date(backfill.start)} to {format_date(backfill.end)} overlaps "
                f"backfill {other.id} ({format_date(other.start)} to {format_date(other.end)}, "
                f"{backfill_state.display_status(other)}) of trigger {key.namespace}.{key.flow_id}.{key.trigger_id}; "
                "wait for it to finish, cancel it, or choose a range that does not overlap"
            )
    return seen


def checked_concurrency(concurrency: int, field: str) -> int:
    limit = settings().max_concurrency
    if concurrency > limit:
        raise Invalid(f"{field}: {concurrency} is more than the maximum concurrency of {limit}")
    return concurrency


def find_backfill(tenant: str, backfill_id: str) -> Backfill:
    found = triggers_repository.backfill_by_id(backfill_id)
    if found is None or found.tenant != tenant:
        raise NotFound(f"Backfill not found: {backfill_id}")
    return found


def cancel(tenant: str, backfill_id: str, kill: bool = False) -> Backfill:
    """POST /api/v1/backfills/{id}/cancel: as Kestra's delete, for one backfill by id."""
    found = find_backfill(tenant, backfill_id)
    if found.finished:
        raise Conflict(f"Backfill {backfill_id} is {found.status.value}; only a running backfill can be cancelled")
    cancelled = _change_found(
        triggers_repository.key_of(found), backfill_id, lambda b, at: (backfill_state.cancel(b, at, kill), [])
    )
    kill_running(cancelled)
    return cancelled


def kill_running(backfill: Backfill) -> None:
    """Ask each running slot's execution to stop. One not created yet is asked again by the watchdog."""
    if not backfill.kill or backfill.settled:
        return
    for key, entry in backfill.inflight.items():
        executions_repository.request_kill(backfill_state.execution_id(backfill.id, key, entry.round))


def retry_failed(tenant: str, backfill_id: str) -> tuple[Backfill, int]:
    """POST /api/v1/backfills/{id}/retry-failed: run the failed slots again (up to RETRY_BATCH a call), as
    new executions. Returns the backfill and how many slots were queued.

    The failed slots are read after the backfill, on each attempt: a slot's record is written before the
    backfill counts it, so a slot that a concurrent retry already queued is in flight or queued in the
    read backfill, or no longer FAILED. The write checks the trigger's STATE counter and the flow, as a create
    does: a backfill that ended and runs again must not overlap one started meanwhile, nor outlive its flow.
    """
    found = find_backfill(tenant, backfill_id)
    queued = 0

    def transition(b: Backfill, at: datetime):
        nonlocal queued
        if b.status.value in ("CANCELLING", "CANCELLED"):
            raise Conflict(f"Backfill {backfill_id} is {b.status.value}; a cancelled backfill cannot retry")
        busy = set(b.inflight) | set(b.retry)
        keys = triggers_repository.slot_keys_in_state(backfill_id, SlotOutcome.FAILED, RETRY_BATCH, busy)
        updated, to_send = backfill_state.retry_failed(b, keys, at)
        queued = b.failed - updated.failed
        return updated, to_send

    saved = _change_found(triggers_repository.key_of(found), backfill_id, transition, exclusive=True)
    return saved, queued


def slots_page(tenant: str, backfill_id: str, page: int, size: int) -> tuple[list[SlotView], int]:
    """GET /api/v1/backfills/{id}/slots: a page of the slots of the range in the backfill's order, each with
    its state, its latest execution and, when skipped, why; and how many slots there are."""
    b = find_backfill(tenant, backfill_id)
    schedule = backfill_state.schedule_of(b)
    skip = (page - 1) * size  # the page's first slot is found by counting to it, then `size` slots are stepped
    if b.order == "newest_first":
        first = nth_slot(schedule, b.start, b.end, count_slots(schedule, b.start, b.end) - 1 - skip)
        slots = schedule.slots_newest_first(b.start, first, size) if first else []
    else:
        first = nth_slot(schedule, b.start, b.end, skip)
        slots = schedule.slots(first, b.end, size) if first else []
    records = triggers_repository.slot_records(b.id, slots[0], slots[-1]) if slots else {}
    results = []
    for slot in slots:
        record = records.get(storage_key(slot))
        state, round_ = backfill_state.slot_view(b, slot, record)
        if record is not None and state == record.state.value:
            execution_id, reason = record.execution_id, record.reason
        else:
            started = state in ("RUNNING", "SUCCEEDED", "FAILED")
            execution_id, reason = (
                (backfill_state.execution_id(b.id, storage_key(slot), round_) if started else None),
                None,
            )
        results.append(SlotView(schedule.local(slot), state, execution_id, reason))
    return results, b.total


def change_backfill(tenant: str, backfill_id: str, concurrency: int | None, paused: bool | None) -> Backfill:
    """PATCH /api/v1/backfills/{id}: a new window size takes effect on this dispatch; a pause holds this
    backfill only (Kestra's trigger-level pause holds every backfill of the trigger)."""
    found = find_backfill(tenant, backfill_id)
    if concurrency is not None:
        checked_concurrency(concurrency, "concurrency")
    if found.finished:
        raise Conflict(f"Backfill {backfill_id} is {found.status.value}; only a running backfill can change")
    return _change_found(
        triggers_repository.key_of(found),
        backfill_id,
        lambda b, at: backfill_state.change(b, at, concurrency, paused),
    )


def list_backfills(tenant: str, namespace: str | None, flow_id: str | None, trigger_id: str | None, status: str | None):
    """Every backfill of the tenant, newest first, running and finished alike."""
    found = triggers_repository.backfills_of_tenant(tenant)
    return [
        b
        for b in found
        if (not namespace or b.namespace == namespace)
        and (not flow_id or b.flow_id == flow_id)
        and (not trigger_id or b.trigger_id == trigger_id)
        and (not status or backfill_state.display_status(b) == status)
    ]


def update_trigger(tenant: str, update: TriggerUpdate, created_by: str | None = None) -> Backfill | None:
    """Kestra's PUT /api/v1/triggers: enable or disable the trigger, create a backfill, or both."""
    if update.backfill is None and update.disabled is None:
        raise Invalid("backfill: give a backfill to create, or disabled: true|false to change the trigger")
    if update.backfill is not None and update.disabled:
        raise Invalid("disabled: a backfill cannot be created by the call that disables its trigger")
    if update.disabled is not None:
        set_disabled(tenant, update, update.disabled)
    if update.backfill is None:
        return None
    return create_backfill(tenant, update, update.backfill, created_by)


def set_disabled(tenant: str, ref: TriggerRef, disabled: bool) -> None:
    """Kestra's PUT /api/v1/triggers with `disabled`: a disabled trigger dispatches nothing, live or backfill."""
    schedule_trigger(tenant, ref.namespace, ref.flow_id, ref.trigger_id)
    disable_trigger(TriggerKey(tenant, ref.namespace, ref.flow_id, ref.trigger_id), disabled)


def disable_trigger(key: TriggerKey, disabled: bool) -> None:
    """Set the flag, then hold (or release) the trigger's running backfill; the watchdog mends a crash between."""
    triggers_repository.set_disabled(key, disabled)
    reconcile_hold(key)


def trigger_disabled(key: TriggerKey) -> bool:
    """Disabled through the API (or stopAfter), or in the flow's YAML, trigger or whole flow; or gone, or
    its stored flow no longer validates (its backfills wait, held, for a valid revision)."""
    stored = flows_repository.find(key.tenant, key.namespace, key.flow_id)
    flow = stored.flow if stored else None
    trigger = flow.trigger(key.trigger_id) if flow else None
    if flow is None or trigger is None:
        return True
    return flow.trigger_disabled(trigger, triggers_repository.get_state(key).disabled)


def running_backfills_of(key: TriggerKey) -> list[Backfill]:
    """The trigger's backfills that still dispatch, newest first."""
    return [b for b in triggers_repository.backfills_of_trigger(key, unsettled_only=True) if not b.finished]


def reconcile_hold(key: TriggerKey) -> None:
    """Hold the trigger's running backfills while the trigger is disabled, release them when it is not."""
    running = running_backfills_of(key)
    if running:
        disabled = trigger_disabled(key)
        for backfill in running:
            _change(key, backfill.id, lambda b, at: backfill_state.set_trigger_disabled(b, disabled, at))


def flow_updated(stored: StoredFlow) -> None:
    """A new revision may disable or enable triggers in its YAML (or make valid again a flow whose backfills
    were held): running backfills follow."""
    for trigger_id in stored.trigger_ids:
        reconcile_hold(TriggerKey(stored.tenant, stored.namespace, stored.id, trigger_id))


def delete_flow(tenant: str, namespace: str, flow_id: str) -> None:
    """Deleting a flow cancels its triggers' running backfills and forgets their state, as Kestra does;
    a flow registered again under the same id starts afresh.

    The delete lands only if no backfill started and no revision was stored since the flow was read (before
    its backfills were listed); otherwise it reads and cancels again, so that none outlives the flow."""
    for _ in range(CHANGE_ATTEMPTS):
        stored = flows_repository.get(tenant, namespace, flow_id)
        keys = [TriggerKey(tenant, namespace, flow_id, trigger_id) for trigger_id in stored.trigger_ids]
        for key in keys:
            for backfill in running_backfills_of(key):
                _change(key, backfill.id, lambda b, at: (backfill_state.cancel(b, at), []))
            triggers_repository.delete_state(key)  # before the flow: a DELETE that failed is retried whole
        try:
            flows_repository.delete(stored)
        except ConcurrentUpdate:
            continue
        return
    raise Conflict(f"Flow {namespace}.{flow_id} is changing too fast to delete; retry")


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


def triggers_matching(tenant: str, namespace: str | None, query: str | None) -> list[TriggerRef]:
    """Schedule triggers in a namespace (or below it) whose flow or trigger id contains `query`."""
    found = []
    for stored in flows_repository.list_flows(tenant):
        flow = stored.flow
        if flow is None or not in_namespace(flow.namespace, namespace):
            continue
        for trigger in flow.triggers:
            text = f"{flow.namespace} {flow.id} {trigger.id}".lower()
            if trigger.is_schedule and (not query or query.lower() in text):
                found.append(TriggerRef(namespace=flow.namespace, flow_id=flow.id, trigger_id=trigger.id))
    return found


def pause(tenant: str, ref: TriggerRef) -> Backfill:
    return _change_running(tenant, ref, lambda b, at: (backfill_state.pause(b, at), []))[0]


def unpause(tenant: str, ref: TriggerRef) -> Backfill:
    return _change_running(tenant, ref, backfill_state.unpause)[0]


def delete(tenant: str, ref: TriggerRef, kill: bool = False) -> Backfill:
    cancelled = _change_running(tenant, ref, lambda b, at: (backfill_state.cancel(b, at, kill), []))
    for backfill in cancelled:
        kill_running(backfill)
    return cancelled[0]


def claim_slot(message: SlotMessage) -> tuple[Backfill | None, backfill_state.Claim]:
    key, backfill_id = _backfill_of(message)
    decision = backfill_state.Claim.DROP

    def transition(b: Backfill, at: datetime):
        nonlocal decision
        b, decision = backfill_state.claim(b, message.date, at, message.round)
        return b, []

    backfill = _change(key, backfill_id, transition)
    return backfill, decision if backfill else backfill_state.Claim.DROP


def finish_slot(message: SlotMessage, outcome: SlotOutcome) -> Backfill | None:
    key, backfill_id = _backfill_of(message)
    return _change(key, backfill_id, lambda b, at: backfill_state.finish(b, message.date, outcome, at, message.round))


def release_slot(message: SlotMessage) -> Backfill | None:
    """Give back a claimed slot whose execution never started: parked if paused, cancelled if cancelled."""
    key, backfill_id = _backfill_of(message)
    return _change(key, backfill_id, lambda b, at: (backfill_state.release(b, message.date, at, message.round), []))


def resend_stale_slots() -> int:
    """The watchdog: re-send slots whose message was lost, and hold or release each running backfill as
    its trigger's disabled state says (in case a crash came between the two writes). Returns how many
    slots were re-sent."""
    sent = 0
    for running in triggers_repository.running_backfills():
        try:
            sent += _watch(running)
        except Exception:  # one broken backfill must not stop the watchdog for the others
            logger.exception("watchdog could not check a backfill", extra={"backfill": running.id})
    return sent


def _watch(running: Backfill) -> int:
    key = triggers_repository.key_of(running)
    disabled = trigger_disabled(key)
    # Running after its flow was deleted: one whose trigger an update had removed (delete_flow cancels the
    # backfills of the triggers the flow still has), or one started before creates checked the flow.
    orphan = flows_repository.find(key.tenant, key.namespace, key.flow_id) is None
    resent: list[datetime] = []

    def transition(b: Backfill, at: datetime):
        if orphan:
            b = backfill_state.cancel(b, at)
        b, released = backfill_state.set_trigger_disabled(b, disabled, at)
        b, stale = backfill_state.stale_slots(b, at, settings().slot_resend_seconds)
        resent[:] = stale
        return b, released + [s for s in stale if s not in released]

    watched = _change(key, running.id, transition)
    if watched is not None:
        kill_running(watched)  # a kill that found no execution yet
    return len(resent)


Transition = Callable[[Backfill, datetime], tuple[Backfill, list[datetime]]]


def _change_running(tenant: str, ref: TriggerRef, transition: Transition) -> list[Backfill]:
    """Kestra's trigger-level pause, unpause and delete act on every running backfill of the trigger (one
    that finished meanwhile is no longer there to change). Returns them, newest first; 400 if none."""
    key = TriggerKey(tenant, ref.namespace, ref.flow_id, ref.trigger_id)
    stored = flows_repository.get(tenant, ref.namespace, ref.flow_id)
    if stored.flow is None:  # its Trigger JSON cannot be shown; its backfills are held, or cancelled by a delete
        raise Invalid(stored.invalid_message())

    def unless_finished(b: Backfill, at: datetime):
        if b.finished:
            raise BadRequest(NO_BACKFILL)
        return transition(b, at)

    changed = []
    for backfill in running_backfills_of(key):
        try:
            result = _change(key, backfill.id, unless_finished)
        except BadRequest:
            continue
        if result is not None:
            changed.append(result)
    if not changed:
        raise BadRequest(NO_BACKFILL)
    return changed


def _backfill_of(message: SlotMessage) -> tuple[TriggerKey, str]:
    """A backfill slot's trigger and backfill (a live slot's message names no backfill)."""
    if message.backfill_id is None:
        raise ValueError(f"the {message.kind} slot message for {message.date} names no backfill")
    return TriggerKey(message.tenant, message.namespace, message.flow_id, message.trigger_id), message.backfill_id


def _change_found(key: TriggerKey, backfill_id: str, transition: Transition, exclusive: bool = False) -> Backfill:
    """`_change` of a backfill the caller has just found: one deleted since (with its flow) is a 404."""
    changed = _change(key, backfill_id, transition, exclusive)
    if changed is None:
        raise NotFound(f"Backfill not found: {backfill_id}")
    return changed


def _change(key: TriggerKey, backfill_id: str, transition: Transition, exclusive: bool = False) -> Backfill | None:
    """Read, transition, conditional write, then send; retried when another writer got there first.

    `exclusive`: the change may set the backfill running again, so no running backfill of the trigger may
    overlap it (409) and its flow and trigger must be there (404), checked against the STATE counter and
    the flow's revision, which the write requires unchanged, as a create does.
    """
    deadline = time.monotonic() + CHANGE_SECONDS
    attempt = 0
    while attempt < CHANGE_ATTEMPTS or time.monotonic() < deadline:
        if attempt:
            time.sleep(random.uniform(0, min(0.005 * 2**attempt, 2.0)))  # jittered backoff under contention
        attempt += 1
        current = triggers_repository.get_backfill(key, backfill_id)
        if current is None:
            return None
        flow = schedule_trigger(key.tenant, key.namespace, key.flow_id, key.trigger_id)[0] if exclusive else None
        updated, to_send = transition(current, now())
        start = BackfillStart(_check_no_overlap(key, current), flows_repository.backfill_start(flow)) if flow else None
        if updated == current:
            return current
        try:
            saved = triggers_repository.save_backfill(updated, current, start)
        except ConcurrentUpdate:
            continue
        _send(saved, to_send)
        return saved
    raise BackfillContended(f"backfill {backfill_id} is changing too fast to update; retry")


def _send(backfill: Backfill, slots: list[datetime]) -> None:
    """Send after the write. A failed send is not an error for the caller: the record already holds the
    slots as DISPATCHED, and the watchdog sends them again."""
    if not slots:
        return
    try:
        work_queue.send(
            [
                SlotMessage(
                    tenant=backfill.tenant,
                    namespace=backfill.namespace,
                    flow_id=backfill.flow_id,
                    trigger_id=backfill.trigger_id,
                    backfill_id=backfill.id,
                    date=slot,
                    round=backfill.inflight[storage_key(slot)].round,
                )
                for slot in slots
            ]
        )
    except (work_queue.SendFailed, BotoCoreError, ClientError):
        logger.exception("slot messages not sent; the watchdog will send them", extra={"backfill": backfill.id})


def _aware(moment: datetime) -> datetime:
    """A request date without an offset is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
