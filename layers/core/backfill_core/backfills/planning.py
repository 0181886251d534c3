"""What a new backfill would do, checked before anything is written: shared by the dry run and the create."""

from dataclasses import dataclass
from datetime import UTC, datetime

from backfill_core.backfills.forecast import Forecast, forecast
from backfill_core.backfills.model import SlotOutcome
from backfill_core.backfills.queries import SlotView
from backfill_core.backfills.reprocess import skip_reason
from backfill_core.errors import (
    Invalid,
    NotFound,
)
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows import shell_safety
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.kestra_api.requests import BackfillRequest, TriggerRef
from backfill_core.schedules.counting import count_slots
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import format_date, from_storage_key, now, storage_key
from backfill_core.settings import settings
from backfill_core.storage import executions_repository, flows_repository
from backfill_core.triggers.model import TriggerKey


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
    first = request.order.slots(schedule, start, end, 1)
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
    forecast: Forecast


def dry_run(tenant: str, ref: TriggerRef, request: BackfillRequest, page_size: int) -> BackfillPreview:
    """What the backfill would run and skip, counted without stepping through its slots, and the first
    and last pages of the slots it would run, in its order. Writes nothing."""
    plan = plan_backfill(tenant, ref, request)
    schedule = plan.trigger.schedule()
    key = ref.trigger_key(tenant)
    skipped = skipped_slots(schedule, key, request.reprocess, plan.start, plan.end)
    reach = page_size + len(skipped)  # enough slots that `page_size` of them run

    def to_run(slots: list[datetime]) -> list[datetime]:
        return [slot for slot in slots if storage_key(slot) not in skipped][:page_size]

    # Each page lists its slots in the backfill's order.
    first = to_run(request.order.slots(schedule, plan.start, plan.end, reach))
    last = to_run(request.order.reverse.slots(schedule, plan.start, plan.end, reach))[::-1]

    total = count_slots(schedule, plan.start, plan.end)
    window = request.run_window.in_zone(plan.trigger.timezone) if request.run_window else None
    return BackfillPreview(
        ref=ref,
        request=request,
        plan=plan,
        total=total,
        skipped=len(skipped),
        forecast=forecast(key, total - len(skipped), plan.concurrency, request.max_slots_per_minute, window, plan.at),
        first_page=[schedule.local(slot) for slot in first],
        last_page=[schedule.local(slot) for slot in last],
        skipped_page=[
            SlotView(schedule.local(from_storage_key(k)), SlotOutcome.SKIPPED.value, execution_id, reason)
            for k, (reason, execution_id) in sorted(skipped.items())[:page_size]
        ],
    )


def checked_concurrency(concurrency: int, field: str) -> int:
    limit = settings().max_concurrency
    if concurrency > limit:
        raise Invalid(f"{field}: {concurrency} is more than the maximum concurrency of {limit}")
    return concurrency


def _aware(moment: datetime) -> datetime:
    """A request date without an offset is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
