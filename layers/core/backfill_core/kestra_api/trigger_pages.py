"""Kestra's trigger search in its default order (by namespace, flow and trigger id), read a page at a time from the
trigger list (storage/trigger_listing) rather than from every flow: the page's keys, its flows (each parsed once
per revision in a warm function), and the count when the page is full or not the first.

A trigger the list names but its flow no longer declares (the index is eventually consistent, or the stored flow
no longer validates) is left out of the page, as the search of every flow leaves it out."""

from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.storage import flows_repository, trigger_listing


def listed_page(
    tenant: str, namespace: str | None, page: int, size: int
) -> tuple[list[tuple[StoredFlow, TriggerSpec]], int]:
    """The triggers of the page in a namespace or below it (all the tenant's without one), and how many there are."""
    keys = trigger_listing.page(tenant, namespace, (page - 1) * size, size)
    flows: dict[tuple[str, str], StoredFlow | None] = {}
    found = []
    for key in keys:
        if (key.namespace, key.flow_id) not in flows:
            flows[key.namespace, key.flow_id] = flows_repository.find(tenant, key.namespace, key.flow_id)
        stored = flows[key.namespace, key.flow_id]
        trigger = stored.flow.trigger(key.trigger_id) if stored is not None and stored.flow is not None else None
        if stored is not None and trigger is not None:
            found.append((stored, trigger))
    whole = page == 1 and len(keys) < size  # the first page, not full: it holds them all
    return found, len(found) if whole else trigger_listing.count(tenant, namespace)
