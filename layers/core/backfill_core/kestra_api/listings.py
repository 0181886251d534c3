"""Kestra's `q` and `sort` on its flow and trigger searches, and the searches of flows and namespaces.

`q` matches, case-insensitively, a part of the namespace or the id (and for a trigger its flow's id), as
Kestra's full-text search of those fields does. `sort` is Kestra's list of `field:asc|desc`, the first the most
significant; a field Kestra's repository cannot sort by is refused, naming it."""

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from backfill_core.errors import Invalid
from backfill_core.flows.labels import normalize_labels
from backfill_core.flows.model import TriggerSpec, in_namespace
from backfill_core.flows.stored import StoredFlow
from backfill_core.kestra_api import filters as query_filters
from backfill_core.kestra_api import flow_answers
from backfill_core.kestra_api.filters import Filter, QueryFilter
from backfill_core.kestra_api.kestra_json import flow_json
from backfill_core.kestra_api.trigger_answers import TriggerEntry
from backfill_core.storage import flows_repository

Entry = TypeVar("Entry")

# Kestra's trigger repository sorts by these (its 2.0 names beside its 1.x ones); executionId is never set here.
TRIGGER_SORTS: dict[str, Callable[[TriggerEntry], Any]] = {
    "namespace": lambda e: e.trigger_context.namespace,
    "flowId": lambda e: e.trigger_context.flow_id,
    "triggerId": lambda e: e.trigger_context.trigger_id,
    "nextExecutionDate": lambda e: e.trigger_context.next_execution_date,
    "nextEvaluationDate": lambda e: e.trigger_context.next_execution_date,
    "executionId": lambda e: e.trigger_context.execution_id,
}
# The sorts that need no trigger state: a search so sorted reads the states of its page only.
TRIGGER_IDENTITY_SORTS: dict[str, Callable[[tuple[StoredFlow, TriggerSpec]], Any]] = {
    "namespace": lambda found: found[0].namespace,
    "flowId": lambda found: found[0].id,
    "triggerId": lambda found: found[1].id,
}
FLOW_SORTS: dict[str, Callable[[flow_answers.FlowWithSource], Any]] = {
    "namespace": lambda f: f.namespace,
    "id": lambda f: f.id,
}


def matches(query: str | None, *fields: str) -> bool:
    return not query or any(query.lower() in field.lower() for field in fields)


def sort_fields(sort: Sequence[str] | None) -> list[str]:
    """Kestra's clients send the list comma-separated (`explode: false`), a browser one parameter each."""
    return [order for value in sort or [] for order in value.split(",") if order]


def sorted_by_identity(sort: Sequence[str] | None) -> bool:
    return all(order.partition(":")[0] in TRIGGER_IDENTITY_SORTS for order in sort_fields(sort))


def in_listing_order(sort: Sequence[str] | None) -> bool:
    """Sorted as the trigger list is stored (storage/trigger_listing): none, or namespace, flowId, triggerId
    ascending, in that order (a prefix of it)."""
    orders = [order.partition(":") for order in sort_fields(sort)]
    fields = [field for field, _, _ in orders]
    return fields == ["namespace", "flowId", "triggerId"][: len(fields)] and all(d in ("", "asc") for _, _, d in orders)


def sorted_by(
    entries: Iterable[Entry], sort: Sequence[str] | None, fields: dict[str, Callable[[Entry], Any]]
) -> list[Entry]:
    """The entries in the order `sort` asks (missing values last either way); without it, as given."""
    ordered = list(entries)
    orders = sort_fields(sort)
    for order in reversed(orders):
        field, _, direction = order.partition(":")
        if field not in fields:
            raise Invalid(f"sort: '{field}' is not sortable; use one of {', '.join(fields)}")
        if direction not in ("", "asc", "desc"):
            raise Invalid(f"sort: '{order}' must be field:asc or field:desc")
        key = fields[field]
        present = [e for e in ordered if key(e) is not None]
        present.sort(key=key, reverse=direction == "desc")
        ordered = present + [e for e in ordered if key(e) is None]
    return ordered


def search_flows(
    tenant: str,
    namespace: str | None,
    query: str | None,
    sort: Sequence[str] | None,
    filters: Sequence[Filter] = (),
) -> list[flow_answers.FlowWithSource]:
    """Kestra's GET /flows/search: the flows in a namespace (or below it) that `q` and Kestra's filters match,
    sorted."""
    found = (
        flow_json(stored)
        for stored in flows_repository.list_flows(tenant)
        if in_namespace(stored.namespace, namespace)
        and matches(query, stored.namespace, stored.id)
        and query_filters.matches(filters, partial(flow_holds, stored))
    )
    return sorted_by(found, sort or ["namespace:asc", "id:asc"], FLOW_SORTS)


def flow_holds(stored: StoredFlow, one: QueryFilter) -> bool:
    """What each of Kestra's flow filters means for a stored flow; one that no longer validates has no labels."""
    match one.field:
        case "q":
            return one.query(stored.namespace, stored.id)
        case "scope":
            return one.scope(stored.namespace)
        case "namespace":
            return one.text(stored.namespace)
        case "flowId":
            return one.text(stored.id)
        case "labels":
            labels = normalize_labels(stored.flow.labels) if stored.flow else []
            return one.labels((label.key, str(label.value)) for label in labels)
    raise Invalid(f"{one.key}: not supported")


def distinct_namespaces(tenant: str, query: str | None) -> list[str]:
    """Kestra's GET /flows/distinct-namespaces: the namespaces holding a flow, sorted."""
    return sorted({flow.namespace for flow in flows_repository.list_flows(tenant) if matches(query, flow.namespace)})
