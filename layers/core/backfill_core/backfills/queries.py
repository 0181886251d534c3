"""Reading backfills: one by id, a trigger's running ones, the list, and a page of one backfill's slots."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from backfill_core.backfills import slot_runs, state_machine
from backfill_core.backfills.model import Backfill, BackfillShown, SlotShown
from backfill_core.errors import Invalid, NotFound
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.ids import backfill_execution_id
from backfill_core.kestra_api.filters import Filter, QueryFilter, matches
from backfill_core.schedules.cron import CronSchedule
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


STATE_SCAN_CHUNK = 2000  # slots read a step when a page is filtered by state
STATE_SCAN_LIMIT = 100_000  # slots a filtered page may read past: a page beyond them is refused


def slots_page(
    tenant: str, backfill_id: str, page: int, size: int, states: Collection[SlotShown] = ()
) -> tuple[list[SlotView], int]:
    """GET /api/v1/backfills/{id}/slots: a page of the slots of the range in the backfill's order, each with
    its state, its latest execution and, when skipped, why; and how many slots there are. With `states`, only the
    slots in one of them, and how many those are."""
    b = find_backfill(tenant, backfill_id)
    schedule = state_machine.schedule_of(b)
    skip = (page - 1) * size
    if states:
        return _slots_in_states(b, schedule, skip, size, frozenset(states))
    first = b.order.nth(schedule, b.start, b.end, skip)  # found by counting to it; then `size` slots are stepped
    slots = b.order.slots_from(schedule, b.start, b.end, first, size) if first else []
    return _views(b, schedule, slots), b.total


def _views(b: Backfill, schedule: CronSchedule, slots: list[datetime]) -> list[SlotView]:
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
    return results


def _slots_in_states(
    b: Backfill, schedule: CronSchedule, skip: int, size: int, states: frozenset[SlotShown]
) -> tuple[list[SlotView], int]:
    """The counts come from the backfill's counters and its slots in flight, exact and read at once. The slots the
    cursor has not reached all wait (PENDING, or CANCELLED once the backfill stopped), so they are found by their
    position; the slots it passed are read in order, a chunk at a time, until the page is full or every match is
    found: a filtered page costs what precedes it among the passed slots, at most STATE_SCAN_LIMIT of them."""
    unreached_state = SlotShown.CANCELLED if b.finished else SlotShown.PENDING
    unreached = b.total - b.dispatched if unreached_state in states else 0
    total = sum(_count(b, state) for state in states)
    found: list[SlotView] = []
    passed_matches = total - unreached
    position = 0
    while len(found) < min(skip + size, passed_matches) and position < b.dispatched:
        if position >= STATE_SCAN_LIMIT:
            raise Invalid(
                f"state: the page's slots lie past the first {STATE_SCAN_LIMIT:,} slots of the backfill, more than "
                "a filtered page reads; ask for an earlier page, or page through the slots without a state"
            )
        first = b.order.nth(schedule, b.start, b.end, position)
        if first is None:
            break
        chunk = b.order.slots_from(schedule, b.start, b.end, first, min(STATE_SCAN_CHUNK, b.dispatched - position))
        found += [view for view in _views(b, schedule, chunk) if view.state in states]
        position += len(chunk)
    page = found[skip : skip + size]
    wanted = skip + size - len(found)  # the rest of the page, from the slots not reached
    if unreached and wanted > 0:
        start = max(skip - len(found), 0)
        first = b.order.nth(schedule, b.start, b.end, b.dispatched + start) if start < unreached else None
        if first is not None:
            slots = b.order.slots_from(schedule, b.start, b.end, first, min(size - len(page), unreached - start))
            page += [SlotView(schedule.local(slot), unreached_state.value, None, None) for slot in slots]
    return page, total


def _count(b: Backfill, state: SlotShown) -> int:
    """How many of the backfill's slots are in this state, from its counters and its slots in flight."""
    match state:
        case SlotShown.SUCCEEDED:
            return b.succeeded
        case SlotShown.FAILED:
            return b.failed
        case SlotShown.SKIPPED:
            return b.skipped
        case SlotShown.CANCELLED:
            return b.cancelled  # the slots a cancel found never sent included
        case SlotShown.PENDING:
            return len(b.retry) + (0 if b.finished else b.total - b.dispatched)
    return sum(entry.state.value == state.value for entry in b.inflight.values())  # DISPATCHED, RUNNING, PARKED


def list_backfills(
    tenant: str,
    namespace: str | None,
    flow_id: str | None,
    trigger_id: str | None,
    status: BackfillShown | None,
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
