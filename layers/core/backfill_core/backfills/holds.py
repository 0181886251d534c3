"""A backfill holds, like a pause, while its trigger is disabled (through the API, stopAfter or the flow's YAML)
or its stored flow no longer validates; it carries on when that ends. It holds too, unless asked not to
(`liveFirst: false`), while a slot of its trigger's live schedule starts: the live slot meets the executors and the
flow's concurrency places its backfill would otherwise take, and the backfill carries on once it has started."""

from datetime import datetime

from backfill_core.backfills import progress_changes
from backfill_core.backfills.changes import change
from backfill_core.backfills.progress import Hold
from backfill_core.backfills.queries import running_backfills_of
from backfill_core.schedules.kestra_time import from_storage_key, storage_key
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
            change(key, backfill.id, lambda spec, p: progress_changes.set_hold(p, Hold.TRIGGER_DISABLED, disabled))


def yield_to_live(key: TriggerKey, at: datetime) -> None:
    """Before the live schedule sends a slot of the trigger: hold its running backfills that put live runs first."""
    since = storage_key(at)
    for backfill in running_backfills_of(key):
        if backfill.live_first and backfill.yielding_since is None:
            change(key, backfill.id, lambda spec, p: progress_changes.set_hold(p, Hold.YIELDING, since))


def release_after_live(key: TriggerKey) -> None:
    """A live slot of the trigger started: its backfills held for it carry on."""
    for backfill in running_backfills_of(key):
        if backfill.yielding_since is not None:
            change(key, backfill.id, lambda spec, p: progress_changes.set_hold(p, Hold.YIELDING, None))


def yielded_too_long(yielding_since: str | None, at: datetime, most_seconds: float) -> bool:
    """A hold for a live slot that never started (its message lost, its flow changed): the watchdog lifts it."""
    return yielding_since is not None and (at - from_storage_key(yielding_since)).total_seconds() > most_seconds
