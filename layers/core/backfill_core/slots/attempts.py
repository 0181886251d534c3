"""An execution's attempts: created once per slot (already RUNNING, its first attempt under its lease, when nothing
makes it wait), taken over only when no live attempt holds its lease, run, and its log lines written in batches.

An attempt's writes: its progress after a task is written just before the next task starts (or with the final
save, when none follows), so an execution of one task is written once, when it ends. Each write tells whether a
kill was asked for meanwhile (storage/executions_repository.py); only a task that runs longer than
KILL_READ_SECONDS reads for one.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from backfill_core.errors import ConcurrentUpdate, SlotBusy
from backfill_core.flows.concurrency import FAILED_MESSAGE
from backfill_core.flows.execution import (
    ENDED_STATES,
    Execution,
    ExecutionState,
    ExecutionTrigger,
    State,
    StateHistory,
    TaskRun,
)
from backfill_core.flows.labels import BACKFILL_LABEL, Label, merge_labels
from backfill_core.flows.runner import run_flow, transition
from backfill_core.flows.stored import StoredFlow
from backfill_core.flows.tasks.subflow import SubflowStarter
from backfill_core.flows.tasks.task_types import KillCheck
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import format_date, now, storage_key
from backfill_core.settings import settings
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import execution_logs, executions_repository

logger = Logger(child=True)

KILL_READ_SECONDS = 1.0  # a kill check this long after the attempt last wrote or read its execution reads again


def new_execution(
    *,
    execution_id: str,
    message: SlotMessage,
    trigger_type: str,
    schedule: CronSchedule,
    revision: int,
    inputs: dict,
    labels: list[Label],
    at: datetime,
) -> Execution:
    """A CREATED execution of one slot; trigger.date/next/previous are the slot and its cron neighbours."""
    slot = message.date
    if message.kind == "backfill":  # marked as Kestra marks a backfill's runs
        labels = merge_labels(labels, [Label(key=BACKFILL_LABEL, value="true")])
    return Execution(
        id=execution_id,
        tenant_id=message.tenant,
        namespace=message.namespace,
        flow_id=message.flow_id,
        flow_revision=revision,
        labels=labels,
        inputs=inputs,
        trigger=ExecutionTrigger(
            id=message.trigger_id,
            type=trigger_type,
            variables={
                "date": format_date(schedule.local(slot)),
                "next": format_date(schedule.local_or_none(schedule.next_after(slot))),
                "previous": format_date(schedule.local_or_none(schedule.previous_before(slot))),
                "backfill": message.kind == "backfill",
            },
        ),
        state=State(
            current=ExecutionState.CREATED,
            histories=[StateHistory(state=ExecutionState.CREATED, date=at)],
            start_date=at,
        ),
        kind=message.kind,
        backfill_id=message.backfill_id,
        scheduled_date=slot,
    )


def create_execution(execution: Execution, stored: StoredFlow | None) -> Execution | None:
    """The exactly-once point of a slot: its execution created by one conditional put, already RUNNING in its first
    attempt unless its flow's concurrency limit may make it wait (then CREATED, as admission decides). The
    execution as written if this call created it RUNNING, else None (it existed: a redelivery takes it over as
    any later message does, lease permitting)."""
    if stored is not None and stored.flow is not None and stored.flow.concurrency is not None:
        executions_repository.create_if_absent(execution)
        return None
    start_attempt(execution, now())
    return execution if executions_repository.create_if_absent(execution) else None


def take_attempt(execution_id: str, lease_until: float | None = None) -> tuple[Execution, bool]:
    """The execution, now owned by this attempt; or already terminal, or FAILED when retries are spent.
    The flag says whether this call ended it (retries spent). `lease_until`: a child run inside its parent's
    attempt holds the parent's lease, so the two are free again at the same moment."""
    execution = executions_repository.get(execution_id)
    if execution is None:  # each caller created it first: only a deletion since (its flow's) gets here
        raise LookupError(f"execution {execution_id} was deleted before its attempt could start")
    if execution.state.current in ENDED_STATES:
        return execution, False
    at = now()
    seen = execution.attempt
    spent = seen - execution.restarted_at_attempt
    if spent >= settings().max_attempts:
        execution.message_due = None
        execution.state = transition(execution.state, ExecutionState.FAILED, at)
        logs = ExecutionLog(execution)
        logs.add(None, "ERROR", f"Execution failed: its executor stopped during each of {spent} attempts")
        logs.flush()  # written with the take-over below
    else:
        start_attempt(execution, at, lease_until)
    try:
        executions_repository.take_over(execution, seen, at.timestamp())
    except ConcurrentUpdate as exc:
        raise SlotBusy(f"execution {execution_id} is held by a live attempt") from exc
    return execution, execution.state.current == ExecutionState.FAILED


def start_attempt(execution: Execution, at: datetime, lease_until: float | None = None) -> Execution:
    """The execution RUNNING in its next attempt, under that attempt's lease (not yet written)."""
    execution.message_due = None  # taken: its message came (the record leaves the AwaitingMessage index)
    execution.attempt += 1
    execution.lease_until = lease_until or at.timestamp() + settings().lease_seconds
    execution.state = transition(execution.state, ExecutionState.RUNNING, at)
    execution.task_run_list = list(execution.kept_task_runs)  # a restart's, which are not run again
    return execution


def end_without_running(execution: Execution, state: str, reason: str = FAILED_MESSAGE) -> Execution:
    """End an execution that never started: past its flow's concurrency limit (CANCELLED, or FAILED as
    Kestra fails it, saying `reason`), or killed while QUEUED. SlotBusy if an attempt started it meanwhile."""
    if state == ExecutionState.FAILED:
        logs = ExecutionLog(execution)
        logs.add(None, "ERROR", reason)
        logs.flush()
    execution.state = transition(execution.state, state, now())
    try:
        executions_repository.save(execution)
    except ConcurrentUpdate as exc:
        raise SlotBusy(f"execution {execution.id} was started by another message") from exc
    return execution


def run_attempt(
    execution: Execution,
    stored,
    budget_seconds,
    problem: str | None = None,
    *,
    subflows: SubflowStarter | None = None,
    from_caller: bool = False,
    killed_too: KillCheck = lambda: False,
    renew: Callable[[], None] | None = None,
) -> Execution | None:
    """Run the flow on the execution this attempt owns. `subflows` starts its Subflow tasks' children,
    `from_caller` says a backfill started it (through subflows), `killed_too` kills it with its parent,
    and `renew` keeps its concurrency place, after each task attempt."""
    logs = ExecutionLog(execution)
    writes = AttemptWrites(execution, logs)

    def save_progress(current: Execution) -> None:
        writes.later()
        if renew:
            renew()

    if stored is not None and stored.flow is None:
        problem = problem or stored.invalid_message()
    if stored is None or stored.flow is None or problem:
        logs.add(None, "ERROR", problem or f"Flow {execution.namespace}.{execution.flow_id} no longer exists")
        execution.state = transition(execution.state, ExecutionState.FAILED, now())
    else:
        killed = lambda: killed_too() or writes.killed()  # noqa: E731
        execution = run_flow(
            stored.flow,
            stored.revision,
            execution,
            logs.add,
            save_progress,
            budget_seconds,
            killed,
            subflows,
            from_caller,
        )
    try:
        writes.now()
        if renew:
            renew()
    except ConcurrentUpdate:
        logger.warning("attempt lost its execution to a newer attempt", extra={"execution": execution.id})
        return None
    return execution


class AttemptWrites:
    """The attempt's writes of its execution: a progress save waits for the next kill check (made before each
    task) or for the final save, and each write learns whether a kill was asked for meanwhile."""

    def __init__(self, execution: Execution, logs: "ExecutionLog"):
        self.execution, self.logs = execution, logs
        self.pending = False
        self.learned = time.monotonic()  # the execution was just written or read: its kill request is known
        self.lock = threading.Lock()  # Parallel branches check and save from threads

    def later(self) -> None:
        self.pending = True

    def now(self) -> None:
        with self.lock:
            self.logs.flush()
            executions_repository.save(self.execution)
            self.pending, self.learned = False, time.monotonic()

    def killed(self) -> bool:
        if self.pending:
            self.now()
        elif time.monotonic() - self.learned >= KILL_READ_SECONDS:
            self.execution.kill_requested = self.execution.kill_requested or executions_repository.kill_requested(
                self.execution.id
            )
            self.learned = time.monotonic()
        return self.execution.kill_requested


class ExecutionLog:
    """Buffers an attempt's log lines as Kestra LogEntry JSON and writes them in batches."""

    def __init__(self, execution: Execution):
        self.execution = execution
        self.pending: list[tuple[str, dict]] = []
        self.count = 0
        self.lock = threading.Lock()  # a branch may log while another's kill check flushes

    def add(self, task_run: TaskRun | None, level: str, message: str, at: datetime | None = None) -> None:
        with self.lock:
            self._add(task_run, level, message, at or now())

    def _add(self, task_run: TaskRun | None, level: str, message: str, at: datetime) -> None:
        self.count += 1
        execution = self.execution
        entry = {
            "tenantId": execution.tenant_id,
            "namespace": execution.namespace,
            "flowId": execution.flow_id,
            "taskId": task_run.task_id if task_run else None,
            "executionId": execution.id,
            "taskRunId": task_run.id if task_run else None,
            "attemptNumber": execution.attempt,
            "triggerId": execution.trigger.id if execution.trigger else None,
            "timestamp": format_date(at),
            "level": level,
            "message": message,
        }
        self.pending.append((f"{storage_key(at)}#{execution.attempt:03d}#{self.count:06d}", entry))

    def flush(self) -> None:
        """Made before each write of the execution: the lines that fit are kept on it, written by that write."""
        with self.lock:
            pending, self.pending = self.pending, []
        if pending:
            execution = self.execution
            trigger = execution.trigger.id if execution.trigger else None
            shared = execution_logs.shared_fields(
                execution.tenant_id, execution.namespace, execution.flow_id, execution.id, trigger
            )
            overflow = execution_logs.kept_inline(execution.log_lines, shared, pending)
            if overflow:
                execution_logs.append_logs(execution.id, overflow)
