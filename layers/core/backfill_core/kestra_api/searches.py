"""The read side of the API: trigger search, execution search, one execution (logs: kestra_api/logs.py)."""

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel

from backfill_core.backfills import queries
from backfill_core.backfills.model import Backfill, SlotShown
from backfill_core.errors import Invalid, NotFound
from backfill_core.flows.execution import Execution
from backfill_core.flows.model import TriggerSpec, in_namespace
from backfill_core.flows.stored import StoredFlow
from backfill_core.kestra_api import listings, trigger_pages
from backfill_core.kestra_api import responses as answer
from backfill_core.kestra_api.filters import Filter, matches
from backfill_core.kestra_api.kestra_json import (
    execution_json,
    slots_json,
    trigger_json,
    trigger_search_entry,
)
from backfill_core.kestra_api.trigger_answers import TriggerContext, TriggerContexts, TriggerEntries, TriggerEntry
from backfill_core.schedules.kestra_time import now
from backfill_core.storage import executions_repository, flows_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey

# Lambda answers at most 6 MB, counting the body as the JSON string of its proxy response; a page stays well
# under it. One execution's record is at most DynamoDB's 400 KB item, so a single one always fits.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
Item = TypeVar("Item")
Page = TypeVar("Page", bound=answer.PagedResults[Any])


def answer_bytes(value: Any) -> int:
    """What a JSON body costs in Lambda's answer: its compact JSON, whose quotes and backslashes are escaped once
    more inside the proxy response."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    text = json.dumps(value, separators=(",", ":"))
    return len(text) + text.count('"') + text.count("\\")


def bounded(items: Iterable[Item], size_field: str = "size") -> list[Item]:
    """The items, if together they fit one answer; else Invalid naming `size_field` and how many would fit.
    Stops reading at the first item past the limit."""
    taken: list[Item] = []
    spent = 0
    for item in items:
        spent += answer_bytes(item) + 1
        if spent > MAX_ANSWER_BYTES:
            fit = max(len(taken), 1)
            raise Invalid(
                f"{size_field}: the answer would take more than the {MAX_ANSWER_BYTES:,} bytes one answer may carry; "
                f"ask for at most {fit:,} at a time ({size_field}={fit}, then the next page)"
            )
        taken.append(item)
    return taken


def page_of(
    page_type: type[Page],
    items: Sequence[Any],
    page: int,
    size: int,
    shown: Callable[[Sequence[Any]], Sequence[Any]] = list,
) -> Page:
    """One page of the items, bounded, and how many there are; `shown` makes the page's answers from its items,
    so that work is done for the page only."""
    return page_type(results=bounded(shown(items[(page - 1) * size : page * size])), total=len(items))


def trigger_context(tenant: str, ref, backfill: Backfill | None = None) -> TriggerContext:
    """The Trigger JSON. Pass the backfill a change just wrote, rather than re-reading a record an executor
    may already have moved; without one, the trigger's newest running backfill is read."""
    stored = flows_repository.get(tenant, ref.namespace, ref.flow_id)
    if stored.flow is None:
        raise Invalid(stored.invalid_message())
    trigger = stored.flow.trigger(ref.trigger_id)
    if trigger is None:
        raise NotFound(f"Trigger not found: {ref.namespace}.{ref.flow_id}.{ref.trigger_id}")
    state, active = _state_and_active_backfill(ref.trigger_key(tenant))
    return trigger_json(stored, trigger, state, backfill or active, now())


def _state_and_active_backfill(key: TriggerKey):
    """The trigger's state and the backfill Kestra's trigger JSON shows: its newest that still runs."""
    state = triggers_repository.get_state(key)
    running = queries.running_backfills_of(key)
    return state, running[0] if running else None


def search_triggers(
    tenant: str,
    namespace: str | None,
    flow_id: str | None,
    page: int,
    size: int,
    query: str | None = None,
    sort: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
) -> TriggerEntries:
    """Kestra's trigger search: the triggers of the flows in a namespace (or below it), `q` and `sort` as
    Kestra's repository reads them (listings), and Kestra's filters."""
    if not (flow_id or query or filters) and listings.in_listing_order(sort):  # Kestra's default: read the page
        found, total = trigger_pages.listed_page(tenant, namespace, page, size)
        return TriggerEntries(results=bounded(_entries(found)), total=total)
    flows = [stored for stored in flows_repository.list_flows(tenant) if in_namespace(stored.namespace, namespace)]
    found = _triggers_of(flows, flow_id, query, filters)
    if listings.sorted_by_identity(sort):  # the trigger states are read for the page only
        return page_of(
            TriggerEntries, listings.sorted_by(found, sort, listings.TRIGGER_IDENTITY_SORTS), page, size, _entries
        )
    return page_of(TriggerEntries, listings.sorted_by(_entries(found), sort, listings.TRIGGER_SORTS), page, size)


def flow_triggers(
    tenant: str, namespace: str, flow_id: str, page: int, size: int, query: str | None, sort: Sequence[str] | None
) -> TriggerContexts:
    """Kestra's GET /triggers/{namespace}/{flowId} (the UI's Triggers tab): that flow's trigger contexts."""
    found = _entries(_triggers_of(flows_repository.list_flows(tenant, namespace), flow_id, query))
    ordered = listings.sorted_by(found, sort, listings.TRIGGER_SORTS)
    return page_of(TriggerContexts, [entry.trigger_context for entry in ordered], page, size)


def _triggers_of(
    flows: Iterable[StoredFlow], flow_id: str | None, query: str | None, filters: Sequence[Filter] = ()
) -> list[tuple[StoredFlow, TriggerSpec]]:
    """The triggers of the flows (of one flow, given its id) that `q` and the filters match; a stored flow that
    no longer validates has none to show (GET /flows says why)."""
    found = []
    for stored in flows:
        if stored.flow is None or (flow_id and stored.id != flow_id):
            continue
        for trigger in stored.flow.triggers:
            if not listings.matches(query, stored.namespace, stored.id, trigger.id):
                continue
            if matches(filters, queries.trigger_holds(stored, trigger)):
                found.append((stored, trigger))
    return found


def _entries(triggers: Iterable[tuple[StoredFlow, TriggerSpec]]) -> list[TriggerEntry]:
    """Each trigger's search entry, with its state and running backfill (two reads a trigger)."""
    at, entries = now(), []
    for stored, trigger in triggers:
        state, backfill = _state_and_active_backfill(stored.trigger_key(trigger.id))
        entries.append(trigger_search_entry(stored, trigger, state, backfill, at))
    return entries


def parse_label_filters(values: list[str]) -> list[tuple[str, str]]:
    filters = []
    for value in values:
        key, sep, label_value = value.partition(":")
        if not sep or not key:
            raise Invalid(f"labels: '{value}' must be key:value")
        filters.append((key, label_value))
    return filters


def tenant_execution(tenant: str, execution_id: str) -> Execution:
    """The tenant's execution: another tenant's is not found, as if it did not exist."""
    found = executions_repository.get(execution_id)
    if found is None or found.tenant_id != tenant:
        raise NotFound(f"Execution not found: {execution_id}")
    return found


def execution(tenant: str, execution_id: str) -> answer.Execution:
    return execution_json(tenant_execution(tenant, execution_id))


def backfill_slots(
    tenant: str, backfill_id: str, page: int, size: int, states: Collection[SlotShown] = ()
) -> answer.PagedResults[answer.Slot]:
    """A page of a backfill's slots (those in `states`, if given), bounded: 1,000 slots take about 250 kB."""
    slots, total = queries.slots_page(tenant, backfill_id, page, size, states)
    return answer.PagedResults[answer.Slot](results=bounded(slots_json(slots)), total=total)


def paged(items: Iterable[Item], page: int | None, size: int | None) -> list[Item]:
    """Kestra's plain list, read lazily and bounded in bytes; with `size`, one page of it (ours)."""
    return bounded(window(items, page, size))


def window(items: Iterable[Item], page: int | None, size: int | None) -> Iterable[Item]:
    """Every item, or with `size` the page's, read lazily."""
    if size is None:
        return items
    skip = ((page or 1) - 1) * size
    return islice(items, skip, skip + size)
