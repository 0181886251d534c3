"""The watchdog: slots whose message was lost are sent again, and holds mended after a crash."""

from datetime import datetime

from aws_lambda_powertools import Logger

from backfill_core.backfills import state_machine
from backfill_core.backfills.changes import change, kill_running
from backfill_core.backfills.holds import trigger_disabled
from backfill_core.backfills.model import Backfill
from backfill_core.settings import settings
from backfill_core.storage import flows_repository, triggers_repository

logger = Logger(child=True)


def resend_stale_slots() -> int:
    """The watchdog: re-send slots whose message was lost, and hold or release each running backfill as
    its trigger's disabled state says (in case a crash came between the two writes). Returns how many
    slots were re-sent."""
    sent = 0
    for running in triggers_repository.running_backfills():
        try:
            sent += _watch(running)
        except Exception:  # one broken backfill must not stop the watchdog for the others
            logger.exception("watchdog could not check a backfill", extra={"backfill": running.id})
    return sent


def _watch(running: Backfill) -> int:
    key = running.trigger_key
    disabled = trigger_disabled(key)
    # Running after its flow was deleted: one whose trigger an update had removed (delete_flow cancels the
    # backfills of the triggers the flow still has), or one started before creates checked the flow.
    orphan = flows_repository.find(key.tenant, key.namespace, key.flow_id) is None
    resent: list[datetime] = []

    def transition(b: Backfill, at: datetime):
        if orphan:
            b = state_machine.cancel(b, at)
        b, released = state_machine.set_trigger_disabled(b, disabled, at)
        b, stale = state_machine.stale_slots(b, at, settings().slot_resend_seconds)
        resent[:] = stale
        return b, released + [s for s in stale if s not in released]

    watched = change(key, running.id, transition)
    if watched is not None:
        kill_running(watched)  # a kill that found no execution yet
    return len(resent)
