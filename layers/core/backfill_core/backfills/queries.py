"""Reading backfills: one by id, a trigger's running ones, the list, and a page of one backfill's slots."""

from dataclasses import dataclass
from datetime import datetime

from backfill_core.backfills import state_machine
from backfill_core.backfills.model import Backfill
from backfill_core.errors import NotFound
from backfill_core.ids import backfill_execution_id
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.storage import triggers_repository
from backfill_core.triggers.model import TriggerKey

MAX_SLOTS_PAGE_SIZE = 1000  # the API checks page >= 1 and 1 <= size <= this (in the OpenAPI document too)


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
    records = triggers_repository.slot_records(b.id, slots[0], slots[-1]) if slots else {}
    results = []
    for slot in slots:
        record = records.get(storage_key(slot))
        state, round_ = state_machine.slot_view(b, slot, record)
        if record is not None and state == record.state.value:
            execution_id, reason = record.execution_id, record.reason
        else:
            started = state in ("RUNNING", "SUCCEEDED", "FAILED")
            execution_id, reason = (
                (backfill_execution_id(b.id, storage_key(slot), round_) if started else None),
                None,
            )
        results.append(SlotView(schedule.local(slot), state, execution_id, reason))
    return results, b.total


def list_backfills(tenant: str, namespace: str | None, flow_id: str | None, trigger_id: str | None, status: str | None):
    """Every backfill of the tenant, newest first, running and finished alike."""
    found = triggers_repository.backfills_of_tenant(tenant)
    return [
        b
        for b in found
        if (not namespace or b.namespace == namespace)
        and (not flow_id or b.flow_id == flow_id)
        and (not trigger_id or b.trigger_id == trigger_id)
        and (not status or state_machine.display_status(b) == status)
    ]
