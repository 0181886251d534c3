"""Kestra's PUT /api/v1/triggers: enable or disable a trigger, start a backfill of it, or both."""

from backfill_core.backfills.commands import create_backfill
from backfill_core.backfills.holds import disable_trigger
from backfill_core.backfills.model import Backfill
from backfill_core.backfills.planning import schedule_trigger
from backfill_core.errors import (
    Invalid,
)
from backfill_core.kestra_api.requests import TriggerRef, TriggerUpdate


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
