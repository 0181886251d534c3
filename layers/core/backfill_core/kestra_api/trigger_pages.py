"""Kestra's trigger search in its default order (by namespace, flow and trigger id), read a page at a time from the
trigger list (storage/trigger_listing) rather than from every flow: the page's keys, its flows in one read (each
parsed once per revision in a warm function), and its `total` at a cost that does not grow with the flows:

- a search whose list ends within the page read (or before it): exact, the keys read;
- a whole tenant's otherwise: its count (one read of its counter items), exact;
- a namespace's (with those below it) otherwise: the listed triggers after the page are counted on the index's keys
  (Select COUNT), up to TOTAL_LOOKAHEAD: exact when they end within it, else a lower bound, the page's end and the
  more than TOTAL_LOOKAHEAD counted past it, so a next page is offered and each page further on counts further.

A trigger the list names but its flow no longer declares (the index is eventually consistent, or the stored flow
no longer validates) is left out of the page, as the search of every flow leaves it out."""

from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.storage import flows_repository, trigger_listing

TOTAL_LOOKAHEAD = 5000  # keys counted past the page for a namespace's total (one Query: a key is ~150 B)


def listed_page(
    tenant: str, namespace: str | None, page: int, size: int
) -> tuple[list[tuple[StoredFlow, TriggerSpec]], int]:
    """The triggers of the page in a namespace or below it (all the tenant's without one), and their total."""
    skip = (page - 1) * size
    keys, listed = trigger_listing.page(tenant, namespace, skip, size)
    flows = flows_repository.find_many(tenant, ((key.namespace, key.flow_id) for key in keys))
    found = []
    for key in keys:
        stored = flows.get((key.namespace, key.flow_id))
        trigger = stored.flow.trigger(key.trigger_id) if stored is not None and stored.flow is not None else None
        if stored is not None and trigger is not None:
            found.append((stored, trigger))
    if page == 1 and listed is not None:  # the first page, not full: it holds them all
        return found, len(found)
    if listed is not None:  # the list ended within the page (or before it): all were read
        return found, listed
    if not namespace:
        return found, trigger_listing.count(tenant)
    return found, skip + len(keys) + trigger_listing.count_after(tenant, namespace, keys[-1], TOTAL_LOOKAHEAD)
