"""Kestra's execution search: its parameters, what each of its filters and sorts means for one of our
executions, and the search itself, which finds its page on the ByFlowStart index's keys (kestra_api/execution_pages)
when its order is the start date (Kestra's default), and otherwise reads every execution it may match."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.execution import Execution
from backfill_core.kestra_api import execution_pages
from backfill_core.kestra_api import responses as answer
from backfill_core.kestra_api.filter_fields import DateFilter
from backfill_core.kestra_api.filters import Filter, QueryFilter, duration, matches
from backfill_core.kestra_api.kestra_json import execution_json
from backfill_core.kestra_api.searches import bounded, page_of, parse_label_filters
from backfill_core.schedules.kestra_time import now
from backfill_core.storage import executions_search


@dataclass(frozen=True)
class ExecutionSearch:
    """Kestra's execution search parameters (the legacy ones; `filters[...]` reach the same fields). `namespace`
    is a prefix of whole segments; `query` (Kestra's `q`) a piece of the id, namespace, flow id or a label."""

    namespace: str | None = None
    flow_id: str | None = None
    states: Sequence[str] = ()
    labels: Sequence[str] = ()
    query: str | None = None
    start_date: datetime | None = None  # started at or after
    end_date: datetime | None = None  # ended at or before (one still running has not ended)

    def keeps(self, execution: Execution) -> bool:
        if self.states and execution.state.current not in self.states:
            return False
        have = {(label.key, label.value) for label in execution.labels}
        if any(wanted not in have for wanted in parse_label_filters(list(self.labels))):
            return False
        started, ended = execution.state.start_date, execution.state.end_date
        if self.start_date and (started is None or started < self.start_date):
            return False
        if self.end_date and (ended is None or ended > self.end_date):
            return False
        return not self.query or _mentions(execution, self.query.lower())

    @property
    def by_start_only(self) -> bool:
        """Whether all it asks beyond the namespace and flow is a start date, which the index's keys hold."""
        return not (self.states or self.labels or self.query or self.end_date)


def _mentions(execution: Execution, text: str) -> bool:
    words = [execution.id, execution.namespace, execution.flow_id]
    words += [part for label in execution.labels for part in (label.key, label.value)]
    return any(text in word.lower() for word in words)


# Kestra's sort fields of executions, and ours (the slot a backfill or schedule ran).
EXECUTION_SORTS: dict[str, Callable[[Execution], Any]] = {
    "id": lambda e: e.id,
    "namespace": lambda e: e.namespace,
    "flowId": lambda e: e.flow_id,
    "state.current": lambda e: e.state.current,
    "state.startDate": lambda e: e.state.start_date or e.scheduled_date,
    "state.endDate": lambda e: (e.state.end_date is not None, e.state.end_date or e.scheduled_date),
    "state.duration": lambda e: (e.state.end_date or now()) - (e.state.start_date or e.scheduled_date),
    "scheduledDate": lambda e: e.scheduled_date,
    "trigger.variables.date": lambda e: e.scheduled_date,
}
START_SORT = "state.startDate"  # the index's order, Kestra's default newest first


def sort_orders(sort: Sequence[str]) -> list[tuple[str, bool]]:
    """(field, descending) of each order, the first the main one; Invalid naming the one we cannot sort by."""
    orders = []
    for order in list(sort) or [f"{START_SORT}:desc"]:
        field, _, direction = order.partition(":")
        if field not in EXECUTION_SORTS:
            raise Invalid(f"sort: '{field}' is not sortable; use one of {', '.join(EXECUTION_SORTS)}")
        if direction not in ("", "asc", "desc"):
            raise Invalid(f"sort: '{order}' must be field:asc or field:desc")
        orders.append((field, direction != "asc"))
    return orders


def search_executions(
    tenant: str,
    search: ExecutionSearch,
    page: int,
    size: int,
    sort: Sequence[str] = (),
    filters: Sequence[Filter] = (),
    date_filter: DateFilter = DateFilter.START_DATE,
) -> answer.PagedResults[answer.Execution]:
    """Kestra's `filters[...]` hold together with the legacy parameters of `search`. Ordered by start date
    alone (Kestra's default), the page is found on the index (execution_pages says what `total` is then);
    any other order reads every execution the search may match, and its total is exact."""
    if search.start_date and search.end_date and search.start_date > search.end_date:
        raise Invalid("startDate: it is after endDate")
    parse_label_filters(list(search.labels))  # a malformed one is refused even when nothing is found
    orders = sort_orders(sort)
    at = now()

    def keeps(e: Execution) -> bool:
        return search.keeps(e) and matches(filters, partial(execution_holds, e, at, date_filter))

    if len(orders) == 1 and orders[0][0] == START_SORT:
        where = execution_pages.Where(
            search.namespace, search.flow_id, search.start_date, filters, date_filter, at, search.states
        )
        found, total = execution_pages.page(tenant, where, orders[0][1], page, size, keeps, search.by_start_only)
        return answer.PagedResults[answer.Execution](results=bounded(list(map(execution_json, found))), total=total)
    every = [e for e in executions_search.by_flow(tenant, search.namespace, search.flow_id) if keeps(e)]
    every.sort(key=lambda e: e.id)  # the last tie-breaker
    for field, descending in reversed(orders):  # the first order is the main one: sorted last
        every.sort(key=EXECUTION_SORTS[field], reverse=descending)
    # Only the page is converted to Kestra's JSON.
    return page_of(
        answer.PagedResults[answer.Execution], every, page, size, lambda page: list(map(execution_json, page))
    )


def execution_holds(e: Execution, at: datetime, date_filter: DateFilter, one: QueryFilter) -> bool:
    """What each of Kestra's execution filters means for one of ours. As in Kestra, startDate and endDate
    both bound the date `date_filter` names (by default the start), and timeRange is that date within so long
    before now. Every execution of ours is Kestra's kind NORMAL; a subflow's child is a CHILD, its parent's
    id the triggerExecutionId."""
    parent = str(e.trigger.variables.get("executionId")) if e.kind == "subflow" and e.trigger else None
    match one.field:
        case "q":
            return one.query(e.id, e.namespace, e.flow_id)
        case "scope":
            return one.scope(e.namespace)
        case "namespace":
            return one.text(e.namespace)
        case "flowId":
            return one.text(e.flow_id)
        case "startDate" | "endDate":
            return any(one.date(date) for date in _dates(e, date_filter))
        case "timeRange":
            since = at - duration(one.key, str(one.value))
            return any(date is not None and date >= since for date in _dates(e, date_filter))
        case "state":
            return one.one_of(e.state.current)
        case "labels":
            return one.labels((label.key, label.value) for label in e.labels)
        case "triggerExecutionId":
            return one.text(parent)
        case "childFilter":
            return one.one_of("CHILD" if parent else "MAIN")
        case "kind":
            return one.one_of("NORMAL")
    raise Invalid(f"{one.key}: not supported")


def _dates(e: Execution, date_filter: DateFilter) -> tuple[datetime | None, ...]:
    start, end = e.state.start_date, e.state.end_date
    return {DateFilter.START_DATE: (start,), DateFilter.END_DATE: (end,)}.get(date_filter, (start, end))
