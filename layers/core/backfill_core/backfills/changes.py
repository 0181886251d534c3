"""A change a person (or the watchdog) makes to a backfill: its progress read, the change computed from it
(backfills/progress_changes.py) and written in one update that pins what it was computed from; a write that lost
to an executor decides again from what it found. The slots it dispatched are sent after the write: a crash between
the two leaves them DISPATCHED for the watchdog."""

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from backfill_core.backfills import events, state_machine
from backfill_core.backfills.model import Backfill, BackfillSpec
from backfill_core.backfills.planning import schedule_trigger
from backfill_core.backfills.progress import Progress
from backfill_core.backfills.progress_changes import ProgressChange
from backfill_core.backfills.slots import send_slots, store_end
from backfill_core.backfills.view import backfill_view
from backfill_core.errors import BackfillContended, ConcurrentUpdate, Conflict, NotFound
from backfill_core.ids import backfill_execution_id
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.storage import (
    backfill_items,
    backfill_progress,
    executions_repository,
    flows_repository,
    triggers_repository,
)
from backfill_core.storage.triggers_repository import BackfillStart
from backfill_core.triggers.model import TriggerKey

CHANGE_ATTEMPTS = 20
CHANGE_SECONDS = 20.0  # well under API Gateway's 29 s: a change that keeps losing gives up with a 409

logger = Logger(child=True)

Decide = Callable[[BackfillSpec, Progress], ProgressChange]


def check_no_overlap(key: TriggerKey, backfill: BackfillSpec) -> int:
    """409 naming a running backfill of the trigger whose range overlaps; else the STATE counter read,
    which the write then checks."""
    seen = triggers_repository.get_state(key).backfills
    # A cancelling backfill still runs slots: it blocks an overlapping one until they end. One that ended may
    # still be in the index until the watchdog stores its end.
    for other in triggers_repository.backfills_of_trigger(key, unsettled_only=True):
        if other.id != backfill.id and not other.settled and other.overlaps(backfill.start, backfill.end):
            raise Conflict(
                f"backfill.start: the range {format_date(backfill.start)} to {format_date(backfill.end)} overlaps "
                f"backfill {other.id} ({format_date(other.start)} to {format_date(other.end)}, "
                f"{state_machine.display_status(other)}) of trigger {key.namespace}.{key.flow_id}.{key.trigger_id}; "
                "wait for it to finish, cancel it, or choose a range that does not overlap"
            )
    return seen


def kill_running(backfill: Backfill) -> None:
    """Ask each running slot's execution to stop. One not created yet is asked again by the watchdog."""
    if not backfill.kill or backfill.settled:
        return
    for key, entry in backfill.inflight.items():
        executions_repository.request_kill(backfill_execution_id(backfill.id, key, entry.round))


def change_found(key: TriggerKey, backfill_id: str, decide: Decide, exclusive: bool = False) -> Backfill:
    """`change` of a backfill the caller has just found: one deleted since (with its flow) is a 404."""
    changed = change(key, backfill_id, decide, exclusive)
    if changed is None:
        raise NotFound(f"Backfill not found: {backfill_id}")
    return changed


def change(key: TriggerKey, backfill_id: str, decide: Decide, exclusive: bool = False) -> Backfill | None:
    """Read, decide, write, then send; decided again from what a lost write found. Returns the backfill after.

    `exclusive`: the change may set the backfill running again, so no running backfill of the trigger may
    overlap it (409) and its flow and trigger must be there (404), checked against the STATE counter and the
    flow's revision, which the write requires unchanged, as a create does.
    """
    found = backfill_items.get(key.pk, backfill_id)
    deadline = time.monotonic() + CHANGE_SECONDS
    attempt = 0
    while attempt < CHANGE_ATTEMPTS or time.monotonic() < deadline:
        attempt += 1
        if found is None:
            return None
        spec, progress = found
        wanted = decide(spec, progress)
        if not wanted:
            return backfill_view(spec, progress)
        after = _write(key, spec, wanted, exclusive)
        if after is not None and after[0] and after[1] is not None:
            send_slots(spec, wanted.dispatched(after[1]), dues=wanted.dues)
            events.publish(events.hold_change(progress, after[1]), spec, after[1])
            store_end(spec, after[1])
            return backfill_view(spec, after[1])
        lost_to = after[1] if after is not None else None
        found = (spec, lost_to) if lost_to is not None else backfill_items.get(key.pk, backfill_id)
    raise BackfillContended(f"backfill {backfill_id} is changing too fast to update; retry")


def _write(key: TriggerKey, spec: BackfillSpec, wanted: ProgressChange, exclusive: bool):
    """(written, progress after or as found); None when a transaction lost (the caller reads again)."""
    at = now()
    if not exclusive:
        return backfill_progress.change(spec.id, wanted, at)
    flow = schedule_trigger(key.tenant, key.namespace, key.flow_id, key.trigger_id)[0]
    start = BackfillStart(check_no_overlap(key, spec), flows_repository.backfill_start(flow))
    try:
        triggers_repository.restart_backfill(spec, backfill_progress.transaction_update(spec.id, wanted, at), start)
    except ConcurrentUpdate:
        return None
    return True, backfill_progress.get(spec.id)
