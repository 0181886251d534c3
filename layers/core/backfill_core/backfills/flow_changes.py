"""What a flow's new revision or deletion does to its triggers' backfills."""

from backfill_core.backfills import progress_changes
from backfill_core.backfills.changes import CHANGE_ATTEMPTS, change
from backfill_core.backfills.holds import reconcile_hold
from backfill_core.backfills.queries import running_backfills_of
from backfill_core.errors import (
    ConcurrentUpdate,
    Conflict,
)
from backfill_core.flows.stored import StoredFlow
from backfill_core.storage import flows_repository, trigger_listing


def flow_updated(stored: StoredFlow) -> None:
    """A new revision may disable or enable triggers in its YAML (or make valid again a flow whose backfills
    were held): running backfills follow."""
    for trigger_id in stored.trigger_ids:
        reconcile_hold(stored.trigger_key(trigger_id))


def delete_flow(tenant: str, namespace: str, flow_id: str) -> None:
    """Deleting a flow cancels its triggers' running backfills and forgets their state, as Kestra does;
    a flow registered again under the same id starts afresh.

    The delete lands only if no backfill started and no revision was stored since the flow was read (before
    its backfills were listed); otherwise it reads and cancels again, so that none outlives the flow."""
    for _ in range(CHANGE_ATTEMPTS):
        stored = flows_repository.get(tenant, namespace, flow_id)
        keys = [stored.trigger_key(trigger_id) for trigger_id in stored.trigger_ids]
        for key in keys:
            for backfill in running_backfills_of(key):
                change(key, backfill.id, progress_changes.cancelling())
            trigger_listing.delete_state(key)  # before the flow: a DELETE that failed is retried whole
        try:
            flows_repository.delete(stored)
        except ConcurrentUpdate:
            continue
        return
    raise Conflict(f"Flow {namespace}.{flow_id} is changing too fast to delete; retry")
