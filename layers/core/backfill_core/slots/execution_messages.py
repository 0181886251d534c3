"""An execution's message to the work queue, sent after its record is written: a run by hand, a replay, a restart,
a Subflow's child its parent does not wait for. The record is written first, saying by when an executor should
have taken it (`messageDue`); a process that dies before the send, or a send that fails, leaves it there, and the
watchdog (the scheduler, each minute) queues every execution past that date again. No run is lost, and none runs
twice: a duplicate message finds the execution taken under its attempt's lease, or ended (slots/by_id.py). One
that waits for a place under its flow's concurrency limit is due again when its wait is (slots/concurrency.py), so
a wait whose delayed message was lost is taken up too; a slot's wait is its backfill's or live schedule's to mend.

Cost: no call more per run (the index entry rides on the record's own writes); one query a tick on an index that
holds only what waits for a message; a conditional write and a share of one send for each execution found."""

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.flows.execution import Execution
from backfill_core.schedules.kestra_time import now
from backfill_core.settings import settings
from backfill_core.slots.message import ExecutionMessage
from backfill_core.storage import executions_awaiting, work_queue
from backfill_core.storage.work_queue import SendFailed

logger = Logger(child=True)

MAX_REQUEUED_PER_TICK = 100  # the rest wait for the next tick, oldest first


def message_due(at: datetime, delay_seconds: int = 0) -> datetime:
    """When an executor should have taken an execution whose message is sent at `at` with this delay."""
    return at + timedelta(seconds=delay_seconds + settings().execution_message_grace_seconds)


def queue(execution: Execution, delay_seconds: int = 0) -> None:
    """Send the message of an execution written with its `message_due`. A send that fails is left to the watchdog,
    so the caller's answer stays true: the execution runs, late by at most its grace and a tick."""
    message = ExecutionMessage(tenant=execution.tenant_id, execution_id=execution.id)
    try:
        if delay_seconds:
            work_queue.send_later(message, delay_seconds)
        else:
            work_queue.send([message])
    except (BotoCoreError, ClientError, SendFailed):
        logger.exception(
            "execution message not sent: the watchdog queues it when due", extra={"execution": execution.id}
        )


def requeue_overdue(at: datetime | None = None) -> int:
    """The watchdog: queue again each execution that no executor took by its due date, after moving that date on
    (so it is queued once a grace period, however long the queue takes). Returns how many were queued."""
    at = at or now()
    due = message_due(at)
    found = executions_awaiting.overdue(at, MAX_REQUEUED_PER_TICK)
    lost = [executions_awaiting.execution_of(key) for key in found if executions_awaiting.postpone(key, due)]
    if lost:
        logger.warning("executions queued again: their message was lost", extra={"executions": lost})
        work_queue.send([ExecutionMessage(tenant=tenant, execution_id=execution_id) for tenant, execution_id in lost])
    return len(lost)
