"""One work-queue message, one slot: claim it, create or resume its execution exactly once, run the flow.

Order of writes (each survives a crash at any point):
1. the backfill record: the slot PENDING -> RUNNING (or PARKED when paused);
2. the execution, created by a conditional put on an id derived from (backfill id, slot);
3. the attempt: the execution taken over only when no live attempt holds its lease;
4. the final state, written only by the attempt that owns the execution;
5. the backfill record: the slot counted once and the next slot dispatched.
A message redelivered after a crash finds the state its predecessor left and carries on from there.
"""

from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from . import backfill_service
from .backfill_state import Claim, schedule_of
from .errors import ConcurrentUpdate, SlotBusy
from .flow_runner import TERMINAL_STATES, run_flow, transition
from .ids import derived_id
from .kestra_time import format_date, now, storage_key
from .models import Backfill, Execution, ExecutionTrigger, SlotMessage, State, StateHistory, TaskRun
from .repositories import executions_repository, flows_repository
from .settings import settings

logger = Logger(child=True)


def execution_id_for(backfill_id: str, slot: datetime) -> str:
    return derived_id("backfill", backfill_id, storage_key(slot))


def new_execution(backfill: Backfill, slot: datetime, revision: int, at: datetime) -> Execution:
    schedule = schedule_of(backfill)
    local = schedule.local(slot)
    return Execution(
        id=execution_id_for(backfill.id, slot),
        tenant_id=backfill.tenant,
        namespace=backfill.namespace,
        flow_id=backfill.flow_id,
        flow_revision=revision,
        labels=backfill.labels,
        inputs=backfill.inputs,
        trigger=ExecutionTrigger(
            id=backfill.trigger_id,
            type=backfill.trigger_type,
            variables={
                "date": format_date(local),
                "next": format_date(schedule.local(schedule.next_after(slot))),
                "previous": format_date(schedule.local(schedule.previous_before(slot))),
                "backfill": True,
            },
        ),
        state=State(current="CREATED", histories=[StateHistory(state="CREATED", date=at)], start_date=at),
        backfill_id=backfill.id,
        scheduled_date=slot,
    )


def run_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    """Raises SlotBusy when another live attempt holds the execution: the message is retried later."""
    backfill, decision = backfill_service.claim_slot(message)
    if decision not in (Claim.RUN, Claim.RESUME) or backfill is None:
        logger.info("slot not run", extra={"slot": format_date(message.date), "decision": decision.value})
        return
    execution_id = execution_id_for(backfill.id, message.date)
    stored = flows_repository.find(message.tenant, message.namespace, message.flow_id)
    if decision == Claim.RUN:
        revision = stored.revision if stored else 0
        executions_repository.create_if_absent(new_execution(backfill, message.date, revision, now()))
    elif executions_repository.get(execution_id) is None:
        # Claimed, then paused or cancelled before its execution existed: it does not start now.
        backfill_service.release_slot(message)
        return
    execution = _take_attempt(execution_id)
    if execution.state.current not in TERMINAL_STATES:
        execution = _run_attempt(execution, stored, budget_seconds)
        if execution is None:
            return  # a newer attempt took over; it finishes the slot
    backfill_service.finish_slot(message, execution.state.current == "SUCCESS")


def _take_attempt(execution_id: str) -> Execution:
    """The execution, now owned by this attempt; or already terminal, or FAILED when retries are spent."""
    execution = executions_repository.get(execution_id)
    if execution.state.current in TERMINAL_STATES:
        return execution
    at = now()
    seen = execution.attempt
    if seen >= settings().max_attempts:
        execution.state = transition(execution.state, "FAILED", at)
    else:
        execution.attempt = seen + 1
        execution.lease_until = at.timestamp() + settings().lease_seconds
        execution.state = transition(execution.state, "RUNNING", at)
        execution.task_run_list = []
    try:
        executions_repository.take_over(execution, seen, at.timestamp())
    except ConcurrentUpdate as exc:
        raise SlotBusy(f"execution {execution_id} is held by a live attempt") from exc
    if execution.state.current == "FAILED":
        logs = ExecutionLog(execution)
        logs.add(None, "ERROR", f"Execution failed: its executor stopped during each of {seen} attempts")
        logs.flush()
    return execution


def _run_attempt(execution: Execution, stored, budget_seconds) -> Execution | None:
    logs = ExecutionLog(execution)

    def save_progress(current: Execution) -> None:
        logs.flush()
        executions_repository.save(current)

    if stored is None:
        logs.add(None, "ERROR", f"Flow {execution.namespace}.{execution.flow_id} no longer exists")
        execution.state = transition(execution.state, "FAILED", now())
    else:
        execution = run_flow(stored.flow, stored.revision, execution, logs.add, save_progress, budget_seconds)
    try:
        save_progress(execution)
    except ConcurrentUpdate:
        logger.warning("attempt lost its execution to a newer attempt", extra={"execution": execution.id})
        return None
    return execution


class ExecutionLog:
    """Buffers an attempt's log lines as Kestra LogEntry JSON and writes them in batches."""

    def __init__(self, execution: Execution):
        self.execution = execution
        self.pending: list[tuple[str, dict]] = []
        self.count = 0

    def add(self, task_run: TaskRun | None, level: str, message: str) -> None:
        at = now()
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
            "triggerId": execution.trigger.id,
            "timestamp": format_date(at),
            "level": level,
            "message": message,
        }
        self.pending.append((f"{storage_key(at)}#{execution.attempt:03d}#{self.count:06d}", entry))

    def flush(self) -> None:
        if self.pending:
            executions_repository.append_logs(self.execution.id, self.pending)
            self.pending = []
