"""Kestra's trigger commands: PUT /api/v1/triggers (enable or disable a trigger, start a backfill of it, or both),
set-disabled, restart, unlock and delete, one by one or in bulk."""

from collections.abc import Callable, Iterable

from backfill_core.backfills import progress_changes
from backfill_core.backfills.changes import change
from backfill_core.backfills.commands import create_backfill
from backfill_core.backfills.holds import disable_trigger
from backfill_core.backfills.model import Backfill
from backfill_core.backfills.planning import schedule_trigger
from backfill_core.backfills.queries import running_backfills_of
from backfill_core.errors import Conflict, Invalid, NotFound
from backfill_core.flows.model import TriggerSpec
from backfill_core.kestra_api.requests import TriggerRef, TriggerUpdate
from backfill_core.storage import flows_repository, triggers_repository

NOT_LOCKED = (
    "Trigger {} is not locked: the scheduler evaluates a trigger within one tick, by conditional writes, and holds "
    "no lock on it between ticks"
)


def update_trigger(tenant: str, update: TriggerUpdate, created_by: str | None = None) -> Backfill | None:
    """Kestra's PUT /api/v1/triggers: enable or disable the trigger, create a backfill, or both."""
    if update.backfill is None and update.disabled is None:
        raise Invalid("backfill: give a backfill to create, or disabled: true|false to change the trigger")
    if update.backfill is not None and update.disabled:
        raise Invalid("disabled: a backfill cannot be created by the call that disables its trigger")
    if update.disabled is not None:
        set_disabled(tenant, update, update.disabled)
    if update.backfill is None:
        return None
    return create_backfill(tenant, update, update.backfill, created_by)


def set_disabled(tenant: str, ref: TriggerRef, disabled: bool) -> None:
    """Kestra's PUT /api/v1/triggers with `disabled`: a disabled trigger dispatches nothing, live or backfill."""
    schedule_trigger(tenant, ref.namespace, ref.flow_id, ref.trigger_id)
    disable_trigger(ref.trigger_key(tenant), disabled)


def declared_trigger(tenant: str, ref: TriggerRef) -> TriggerSpec:
    """The trigger as its flow declares it; 404 naming what is missing, 422 if the flow no longer
    validates."""
    stored = flows_repository.get(tenant, ref.namespace, ref.flow_id)
    if stored.flow is None:
        raise Invalid(stored.invalid_message())
    trigger = stored.flow.trigger(ref.trigger_id)
    if trigger is None:
        raise NotFound(f"Trigger not found: {ref.namespace}.{ref.flow_id}.{ref.trigger_id}")
    return trigger


def restart(tenant: str, ref: TriggerRef) -> None:
    """Kestra's restart: the trigger's evaluation starts afresh. Here the live schedule forgets where it got to
    and takes the trigger up as new at its next tick (slots before that tick are not recovered); its disabled
    flag and backfills stay."""
    declared_trigger(tenant, ref)
    triggers_repository.forget_evaluation(ref.trigger_key(tenant))


def unlock(tenant: str, ref: TriggerRef) -> None:
    """Kestra's unlock frees a trigger whose evaluation holds it locked; none ever is here: a 409, as Kestra
    answers for a trigger that is not locked."""
    declared_trigger(tenant, ref)
    raise Conflict(NOT_LOCKED.format(f"{ref.namespace}.{ref.flow_id}.{ref.trigger_id}"))


def delete(tenant: str, ref: TriggerRef) -> None:
    """Kestra's delete of a trigger drops its context, its backfill with it; the flow still declares it, so
    the scheduler takes it up afresh. Here: its running backfills are cancelled (their running executions end
    as they will), and its live-schedule date and disabled flag are forgotten."""
    declared_trigger(tenant, ref)
    key = ref.trigger_key(tenant)
    for backfill in running_backfills_of(key):
        change(key, backfill.id, progress_changes.cancelling())
    triggers_repository.forget_evaluation(key, disabled_too=True)


def bulk(command: Callable[[TriggerRef], object], refs: Iterable[TriggerRef]) -> int:
    """Kestra's bulk forms: the command on each trigger, passing over those it cannot act on (gone, no longer
    valid, not locked); returns how many it acted on."""
    count = 0
    for ref in refs:
        try:
            command(ref)
        except (NotFound, Invalid, Conflict):
            continue
        count += 1
    return count
