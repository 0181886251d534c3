"""A flow's concurrency limit, enforced across all its executions, live schedule slots and backfill slots alike:
before its attempt, an execution takes one of the flow's places (flows/concurrency.py); past the limit it waits
QUEUED, or ends CANCELLED or FAILED, as the flow's `behavior` says.

Crash safety. A place is held under a lease that the running attempt renews after each task attempt (as long as
the execution's own lease, EXECUTION_LEASE_SECONDS, which outlasts a task), and given back when the execution
ends. An executor that dies holding one frees it when the lease runs out; its execution's next attempt takes a
place again before it carries on, waiting as a queued one does (but still RUNNING, as it started) while the flow
is full. Taking a place never creates or starts an execution: the exactly-once rules of slots/runner.py stay as
they are, and a place taken by a message that then loses the attempt to another is its own execution's place,
given back when that one ends.

Waiting without a busy loop and without the dead-letter queue. A QUEUED execution's message is acknowledged, and
a copy is sent with SQS's delay (CONCURRENCY_RECHECK_SECONDS): a fresh message, so the wait never counts
receives toward the queue's maxReceiveCount however long it lasts (changing the visibility of the same message and
failing it would count one receive per check, and send a slot that waits long to the dead-letter queue). The copy
carries a token that the execution item holds: only that message waits on, so a duplicate (a redelivery after a
crash between the send and the acknowledgement, the watchdog's re-send of a RUNNING backfill slot) stops there
instead of doubling the checks; a wait whose message was lost is overdue after WAIT_GRACE_SECONDS and any
message for the slot takes it over. Any message may take a free place and start the execution.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools import Logger

from backfill_core.flows.concurrency import FAILED_MESSAGE, STATE_WHEN_FULL, ConcurrencyBehavior, places_to_try
from backfill_core.flows.execution import ENDED_STATES, Execution, ExecutionState
from backfill_core.flows.model import Flow
from backfill_core.flows.runner import transition
from backfill_core.ids import new_id
from backfill_core.schedules.kestra_time import now
from backfill_core.settings import settings
from backfill_core.slots.message import ExecutionMessage, WorkMessage
from backfill_core.storage import concurrency_repository, executions_repository, work_queue

logger = Logger(child=True)

# A wait's message not handled this long after it was due is taken for lost (below the queue's visibility
# timeout, so a message redelivered after a crash between the QUEUED write and the send finds it overdue).
WAIT_GRACE_SECONDS = 300
INLINE_RECHECK_SECONDS = 2.0  # a child run inside its parent looks for a free place this often
INLINE_MIN_RUN_SECONDS = 5.0  # and stops waiting while this much is left of the executor's time


class Admission(StrEnum):
    RUN = "RUN"  # a place is held (or the flow has no limit, or the execution already ended): attempt it
    WAITING = "WAITING"  # QUEUED; a later message looks again, or another message already waits for it
    CANCELLED = "CANCELLED"  # the flow is full and its behavior is CANCEL: end it so, running nothing
    FAILED = "FAILED"  # ... FAIL
    KILLED = "KILLED"  # killed while QUEUED


@dataclass(frozen=True)
class HeldPlace:
    key: str
    place: int
    execution_id: str

    def renew(self) -> None:
        at = now().timestamp()
        if not concurrency_repository.take_place(
            self.key, self.place, self.execution_id, at + settings().lease_seconds, at
        ):
            logger.warning("concurrency place lost: its lease ran out mid-run", extra={"execution": self.execution_id})

    def give_back(self) -> None:
        concurrency_repository.give_back(self.key, self.place, self.execution_id)


def admit(message: WorkMessage, execution_id: str, flow: Flow | None) -> tuple[Admission, Execution, HeldPlace | None]:
    """Whether the execution may take its attempt now, and the place it then holds."""
    execution = executions_repository.get(execution_id)
    if execution is None:  # each caller created it first: only a deletion since (its flow's) gets here
        raise LookupError(f"execution {execution_id} was deleted before its attempt could start")
    limits = flow.concurrency if flow else None
    key = concurrency_repository.flow_key(execution.tenant_id, execution.namespace, execution.flow_id)
    if limits is None:
        return Admission.RUN, execution, None
    if execution.state.current in ENDED_STATES:
        give_back_any(key, execution.id)  # ended by an attempt that died before giving its place back
        return Admission.RUN, execution, None
    if execution.state.current == ExecutionState.QUEUED and execution.kill_requested:
        return Admission.KILLED, execution, None
    at = now()
    taken = _take_a_place(key, limits.limit, execution.id, at)
    if taken:
        return Admission.RUN, execution, taken
    if limits.behavior != ConcurrencyBehavior.QUEUE and execution.attempt == execution.restarted_at_attempt:
        return Admission(STATE_WHEN_FULL[limits.behavior]), execution, None
    _wait(message, execution, at)
    return Admission.WAITING, execution, None


def _take_a_place(key: str, limit: int, execution_id: str, at: datetime) -> HeldPlace | None:
    for place in places_to_try(concurrency_repository.places(key), limit, execution_id, at.timestamp()):
        lease_until = at.timestamp() + settings().lease_seconds
        if concurrency_repository.take_place(key, place, execution_id, lease_until, at.timestamp()):
            return HeldPlace(key, place, execution_id)
    return None


def admit_inline(
    execution: Execution, flow: Flow | None, killed: Callable[[], bool], budget_seconds: Callable[[], float]
) -> tuple[Admission, HeldPlace | None, str]:
    """A Subflow's child that its parent waits for runs inside the parent's attempt, so it takes its place here
    and cannot wait on the queue: when its flow is full it ends CANCELLED or FAILED as `behavior` says, and with
    QUEUE it waits here, QUEUED, while the parent's executor has time for it; past that it ends FAILED saying
    why (the parent's task then fails, as Kestra's does for a failed child). Returns why it did not run."""
    limits = flow.concurrency if flow else None
    if limits is None or execution.state.current in ENDED_STATES:
        return Admission.RUN, None, ""
    key = concurrency_repository.flow_key(execution.tenant_id, execution.namespace, execution.flow_id)
    while True:
        at = now()
        taken = _take_a_place(key, limits.limit, execution.id, at)
        if taken:
            return Admission.RUN, taken, ""
        if limits.behavior != ConcurrencyBehavior.QUEUE:
            return Admission(STATE_WHEN_FULL[limits.behavior]), None, FAILED_MESSAGE
        if killed():
            return Admission.KILLED, None, ""
        if budget_seconds() < INLINE_RECHECK_SECONDS + INLINE_MIN_RUN_SECONDS:
            return (
                Admission.FAILED,
                None,
                (
                    f"Flow {execution.namespace}.{execution.flow_id} stayed at its concurrency limit of {limits.limit} "
                    "while its parent's executor had time to wait for a place"
                ),
            )
        if execution.state.current != ExecutionState.QUEUED and execution.attempt == 0:
            execution.state = transition(execution.state, ExecutionState.QUEUED, at)
            executions_repository.save(execution)
        time.sleep(INLINE_RECHECK_SECONDS)


def give_back_any(key: str, execution_id: str) -> None:
    for place, holder, _ in concurrency_repository.places(key):
        if holder == execution_id:
            concurrency_repository.give_back(key, place, execution_id)


def _wait(message: WorkMessage, execution: Execution, at: datetime) -> None:
    """QUEUED (or, resumed after its executor died, still RUNNING), and a copy of the message sent for later;
    nothing if another message waits for it already."""
    body = None
    if execution.attempt == execution.restarted_at_attempt:  # not started yet (since its restart, if any)
        if execution.state.current != ExecutionState.QUEUED:
            execution.state = transition(execution.state, ExecutionState.QUEUED, at)
        body = executions_repository.stored_body(execution)
    delay = settings().concurrency_recheck_seconds
    token = new_id()
    due = at + timedelta(seconds=delay + WAIT_GRACE_SECONDS)
    # Run by id, nothing but its message moves it on: the watchdog queues it again if that is lost
    # (slots/execution_messages.py); a slot's backfill or live schedule sends its slot again instead.
    awaiting = None
    if isinstance(message, ExecutionMessage):
        awaiting = executions_repository.awaiting_keys(execution.tenant_id, execution.id, due)
    if not concurrency_repository.wait(
        execution.id, execution.attempt, body, message.wait_token, token, due.timestamp(), at.timestamp(), awaiting
    ):
        logger.info("another message waits for this execution, or it started", extra={"execution": execution.id})
        return
    work_queue.send_later(message.model_copy(update={"wait_token": token}), delay)
    logger.info("execution waits for a place under its flow's concurrency limit", extra={"execution": execution.id})
