"""Kestra's trigger search in its default order (by namespace, flow and trigger id), read a page at a time from the
trigger list (storage/trigger_listing) rather than from every flow: the page's keys, its flows in one read (each
parsed once per revision in a warm function), and the count when the page is full or not the first.

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
    flows = flows_repository.find_many(tenant, ((key.namespace, key.flow_id) for key in keys))
    found = []
    for key in keys:
        stored = flows.get((key.namespace, key.flow_id))
        trigger = stored.flow.trigger(key.trigger_id) if stored is not None and stored.flow is not None else None
        if stored is not None and trigger is not None:
            found.append((stored, trigger))
    whole = page == 1 and len(keys) < size  # the first page, not full: it holds them all
    return found, len(found) if whole else trigger_listing.count(tenant, namespace)
