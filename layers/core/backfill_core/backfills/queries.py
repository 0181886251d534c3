"""Reading backfills: one by id, a trigger's running ones, the list, and a page of one backfill's slots."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from backfill_core.backfills import slot_runs, state_machine
from backfill_core.backfills.model import Backfill
from backfill_core.errors import Invalid, NotFound
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.ids import backfill_execution_id
from backfill_core.kestra_api.filters import Filter, QueryFilter, matches
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.storage import triggers_repository
from backfill_core.triggers.model import TriggerKey


def find_backfill(tenant: str, backfill_id: str) -> Backfill:
    found = triggers_repository.backfill_by_id(backfill_id)
    if found is None or found.tenant != tenant:
        raise NotFound(f"Backfill not found: {backfill_id}")
    return found


def running_backfills_of(key: TriggerKey) -> list[Backfill]:
    """The trigger's backfills that still dispatch, newest first."""
    return [b for b in triggers_repository.backfills_of_trigger(key, unsettled_only=True) if not b.finished]


@dataclass(frozen=True)
class SlotView:
    """One slot as a person reads it: its state, its latest execution and, when skipped, why."""

    date: datetime  # in the trigger's timezone
    state: str
    execution_id: str | None
    reason: str | None


def slots_page(tenant: str, backfill_id: str, page: int, size: int) -> tuple[list[SlotView], int]:
    """GET /api/v1/backfills/{id}/slots: a page of the slots of the range in the backfill's order, each with
    its state, its latest execution and, when skipped, why; and how many slots there are."""
    b = find_backfill(tenant, backfill_id)
    schedule = state_machine.schedule_of(b)
    skip = (page - 1) * size  # the page's first slot is found by counting to it, then `size` slots are stepped
    first = b.order.nth(schedule, b.start, b.end, skip)
    slots = b.order.slots_from(schedule, b.start, b.end, first, size) if first else []
    ends = slot_runs.slot_ends(b, slots[0], slots[-1]) if slots else {}
    results = []
    for slot in slots:
        end = ends.get(storage_key(slot))
        state, round_ = state_machine.slot_view(b, slot, end.state if end else None)
        if end is not None and state == end.state:
            execution_id, reason = end.execution_id, end.reason
        else:
            started = state in ("RUNNING", "SUCCEEDED", "FAILED")
            execution_id, reason = (
                (backfill_execution_id(b.id, storage_key(slot), round_) if started else None),
                None,
            )
        results.append(SlotView(schedule.local(slot), state, execution_id, reason))
    return results, b.total


def list_backfills(
    tenant: str,
    namespace: str | None,
    flow_id: str | None,
    trigger_id: str | None,
    status: str | None,
    filters: Sequence[Filter] = (),
):
    """Every backfill of the tenant, newest first, running and finished alike; `filters` are Kestra's trigger
    filters, on the backfill's trigger."""
    found = triggers_repository.backfills_of_tenant(tenant)
    return [
        b
        for b in found
        if (not namespace or b.namespace == namespace)
        and (not flow_id or b.flow_id == flow_id)
        and (not trigger_id or b.trigger_id == trigger_id)
        and (not status or state_machine.display_status(b) == status)
        and matches(filters, partial(_backfill_field, b))
    ]


def trigger_holds(stored: StoredFlow, trigger: TriggerSpec) -> Callable[[QueryFilter], bool]:
    """What each of Kestra's trigger filters means for one trigger of a valid flow; triggerState is Kestra's
    `disabled` (in the YAML, or through the API), and startDate and endDate bound its nextExecutionDate (none
    for a trigger that is no schedule), each read only when asked for; no trigger is ever `locked`."""
    flow = stored.flow
    assert flow is not None

    def holds(one: QueryFilter) -> bool:
        if one.field == "triggerState":
            state = triggers_repository.get_state(stored.trigger_key(trigger.id))
            disabled = flow.trigger_disabled(trigger, state.disabled)
            return one.one_of("disabled" if disabled else "enabled")
        if one.field in ("startDate", "endDate", "nextExecutionDate"):  # Kestra's: the first two bound the last
            state = triggers_repository.get_state(stored.trigger_key(trigger.id))
            return one.date(stored.next_execution_date(trigger, state))
        if one.field == "locked":  # a trigger is locked while a worker evaluates it: never here
            return one.one_of("false")
        return _trigger_field(one, flow.namespace, flow.id, trigger.id)

    return holds


def _backfill_field(backfill: Backfill, one: QueryFilter) -> bool:
    return _trigger_field(one, backfill.namespace, backfill.flow_id, backfill.trigger_id)


def _trigger_field(one: QueryFilter, namespace: str, flow_id: str, trigger_id: str) -> bool:
    match one.field:
        case "q":
            return one.query(namespace, flow_id, trigger_id)
        case "scope":
            return one.scope(namespace)
        case "namespace":
            return one.text(namespace)
        case "flowId":
            return one.text(flow_id)
        case "triggerId":
            return one.text(trigger_id)
    raise Invalid(f"{one.key}: not supported")
