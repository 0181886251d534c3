"""One change of a backfill record: read, a pure transition of the state machine, a conditional write, then
the slots it dispatched sent. A crash between the write and the send leaves them DISPATCHED for the watchdog."""

import random
import time
from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.backfills import state_machine
from backfill_core.backfills.model import Backfill
from backfill_core.backfills.planning import schedule_trigger
from backfill_core.errors import (
    BackfillContended,
    ConcurrentUpdate,
    Conflict,
    NotFound,
)
from backfill_core.ids import backfill_execution_id
from backfill_core.schedules.kestra_time import format_date, now, storage_key
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import executions_repository, flows_repository, triggers_repository, work_queue
from backfill_core.storage.triggers_repository import BackfillStart
from backfill_core.triggers.model import TriggerKey

CHANGE_ATTEMPTS = 20


# A change keeps retrying this long once its attempts are spent (well under API Gateway's 29 s): at concurrency
# 50 every slot's claim and finish write the one backfill record, and a slot whose change gave up came back only
# after the queue's visibility timeout (12 minutes). The backoff grows to 2 s, so that writers kept waiting
# do not flood the record with reads and losing writes.
CHANGE_SECONDS = 20.0


logger = Logger(child=True)


Transition = Callable[[Backfill, datetime], tuple[Backfill, list[datetime]]]


def check_no_overlap(key: TriggerKey, backfill: Backfill) -> int:
    """409 naming a running backfill of the trigger whose range overlaps; else the STATE counter read,
    which the write then checks."""
    seen = triggers_repository.get_state(key).backfills
    # A cancelling backfill still runs slots: it blocks an overlapping one until they end.
    for other in triggers_repository.backfills_of_trigger(key, unsettled_only=True):
        if other.id != backfill.id and other.overlaps(backfill.start, backfill.end):
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


def change_found(key: TriggerKey, backfill_id: str, transition: Transition, exclusive: bool = False) -> Backfill:
    """`change` of a backfill the caller has just found: one deleted since (with its flow) is a 404."""
    changed = change(key, backfill_id, transition, exclusive)
    if changed is None:
        raise NotFound(f"Backfill not found: {backfill_id}")
    return changed


def change(key: TriggerKey, backfill_id: str, transition: Transition, exclusive: bool = False) -> Backfill | None:
    """Read, transition, conditional write, then send; retried when another writer got there first.

    `exclusive`: the change may set the backfill running again, so no running backfill of the trigger may
    overlap it (409) and its flow and trigger must be there (404), checked against the STATE counter and
    the flow's revision, which the write requires unchanged, as a create does.
    """
    deadline = time.monotonic() + CHANGE_SECONDS
    attempt = 0
    found: Backfill | None = None  # what the first lost write found: the second attempt starts from it at once
    while attempt < CHANGE_ATTEMPTS or time.monotonic() < deadline:
        if attempt and (found is None or attempt > 1):
            # Lost more than once: many writers at once. A jittered backoff spreads them, and what the last
            # loss found is stale by the time it ends.
            time.sleep(random.uniform(0, min(0.005 * 2**attempt, 2.0)))
            found = None
        attempt += 1
        current, found = found or triggers_repository.get_backfill(key, backfill_id), None
        if current is None:
            return None
        flow = schedule_trigger(key.tenant, key.namespace, key.flow_id, key.trigger_id)[0] if exclusive else None
        updated, to_send = transition(current, now())
        start = BackfillStart(check_no_overlap(key, current), flows_repository.backfill_start(flow)) if flow else None
        if updated == current:
            return current
        try:
            saved = triggers_repository.save_backfill(updated, current, start)
        except ConcurrentUpdate as lost:
            found = lost.current
            continue
        send_slots(saved, to_send)
        return saved
    raise BackfillContended(f"backfill {backfill_id} is changing too fast to update; retry")


def send_slots(backfill: Backfill, slots: list[datetime]) -> None:
    """Send after the write. A failed send is not an error for the caller: the record already holds the
    slots as DISPATCHED, and the watchdog sends them again."""
    if not slots:
        return
    try:
        work_queue.send(
            [
                SlotMessage(
                    tenant=backfill.tenant,
                    namespace=backfill.namespace,
                    flow_id=backfill.flow_id,
                    trigger_id=backfill.trigger_id,
                    backfill_id=backfill.id,
                    date=slot,
                    round=backfill.inflight[storage_key(slot)].round,
                )
                for slot in slots
            ]
        )
    except (work_queue.SendFailed, BotoCoreError, ClientError):
        logger.exception("slot messages not sent; the watchdog will send them", extra={"backfill": backfill.id})
