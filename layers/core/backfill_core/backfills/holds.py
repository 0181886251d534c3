"""A backfill holds, like a pause, while its trigger is disabled (through the API, stopAfter or the flow's YAML)
or its stored flow no longer validates; it carries on when that ends."""

from backfill_core.backfills import progress_changes
from backfill_core.backfills.changes import change
from backfill_core.backfills.queries import running_backfills_of
from backfill_core.storage import flows_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey


def disable_trigger(key: TriggerKey, disabled: bool) -> None:
    """Set the flag, then hold (or release) the trigger's running backfill; the watchdog mends a crash between."""
    triggers_repository.set_disabled(key, disabled)
    reconcile_hold(key)


def trigger_disabled(key: TriggerKey) -> bool:
    """Disabled through the API (or stopAfter), or in the flow's YAML, trigger or whole flow; or gone, or
    its stored flow no longer validates (its backfills wait, held, for a valid revision)."""
    stored = flows_repository.find(key.tenant, key.namespace, key.flow_id)
    flow = stored.flow if stored else None
    trigger = flow.trigger(key.trigger_id) if flow else None
    if flow is None or trigger is None:
        return True
    return flow.trigger_disabled(trigger, triggers_repository.get_state(key).disabled)


def reconcile_hold(key: TriggerKey) -> None:
    """Hold the trigger's running backfills while the trigger is disabled, release them when it is not."""
    running = running_backfills_of(key)
    if running:
        disabled = trigger_disabled(key)
        for backfill in running:
            change(key, backfill.id, lambda spec, p: progress_changes.set_trigger_disabled(p, disabled))
