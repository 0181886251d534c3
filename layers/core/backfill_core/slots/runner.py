"""One work-queue message, one slot: create or resume its execution exactly once, and run the flow.

A backfill slot's writes, each surviving a crash at any point:
1. the backfill record: the slot DISPATCHED -> RUNNING (or PARKED when held);
2. the execution, created by a conditional put on an id derived from (backfill id, slot, round), unless
   the reprocess policy skips the slot;
3. the attempt: the execution taken over only when no live attempt holds its lease;
4. the final state, written only by the attempt that owns the execution;
5. the slot record: how the slot ended (rewritten identically by a redelivery);
6. the backfill record: the slot counted once and the next slot dispatched.
A live schedule slot does 2 to 4, its id derived from (trigger, slot). A message redelivered after a crash
finds the state its predecessor left and carries on from there.
"""

from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from backfill_core.backfills import holds, planning
from backfill_core.backfills import slots as backfill_slots
from backfill_core.backfills.model import Backfill, SlotOutcome, SlotRecord, SlotState
from backfill_core.backfills.state_machine import Claim, execution_id, schedule_of
from backfill_core.errors import ConcurrentUpdate, Invalid, SlotBusy
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows.execution import Execution, ExecutionTrigger, State, StateHistory, TaskRun
from backfill_core.flows.labels import Label, normalize_labels
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.runner import TERMINAL_STATES, run_flow, transition
from backfill_core.flows.stored import StoredFlow
from backfill_core.ids import derived_id
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import format_date, now, storage_key
from backfill_core.settings import settings
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import executions_repository, flows_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey

logger = Logger(child=True)


def live_execution_id_for(key: TriggerKey, slot: datetime) -> str:
    return derived_id("schedule", key.pk, storage_key(slot))


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
                "next": format_date(schedule.local(schedule.next_after(slot))),
                "previous": format_date(schedule.local(schedule.previous_before(slot))),
                "backfill": message.kind == "backfill",
            },
        ),
        state=State(current="CREATED", histories=[StateHistory(state="CREATED", date=at)], start_date=at),
        kind=message.kind,
        backfill_id=message.backfill_id,
        scheduled_date=slot,
    )


def run_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    """Raises SlotBusy when another live attempt holds the execution: the message is retried later."""
    if message.kind == "schedule":
        _run_live_slot(message, budget_seconds)
    else:
        _run_backfill_slot(message, budget_seconds)


def _run_backfill_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    backfill, decision = backfill_slots.claim_slot(message)
    if decision not in (Claim.RUN, Claim.RESUME) or backfill is None:
        logger.info("slot not run", extra={"slot": format_date(message.date), "decision": decision.value})
        return
    slot_key = storage_key(message.date)
    round_ = backfill.inflight[slot_key].round
    this_execution = execution_id(backfill.id, slot_key, round_)
    stored = flows_repository.find(message.tenant, message.namespace, message.flow_id)
    if decision == Claim.RESUME and executions_repository.get(this_execution) is None:
        # Claimed, then paused or cancelled before its execution existed: it does not start now, unless
        # the backfill carried on since, when the slot is still this claim's to run.
        backfill = backfill_slots.release_slot(message)
        entry = backfill.inflight.get(slot_key) if backfill else None
        if backfill is None or entry is None or entry.state != SlotState.RUNNING or entry.round != round_:
            return
        if backfill.held or backfill.finished:
            return
        decision = Claim.RUN
    if (
        decision == Claim.RUN
        and stored is not None
        and stored.flow is None
        and executions_repository.get(this_execution) is None  # one that started fails, naming why
    ):
        _park_until_the_flow_is_valid(message, stored)
        return
    if decision == Claim.RUN:
        if round_ == 0 and backfill.reprocess != "all" and executions_repository.get(this_execution) is None:
            key = backfill.trigger_key
            skipped = planning.skipped_slots(
                schedule_of(backfill), key, backfill.reprocess, message.date, message.date, besides=backfill.id
            ).get(slot_key)
            if skipped:
                _end_slot(message, backfill, SlotOutcome.SKIPPED, skipped[1], round_, skipped[0])
                return
        execution = new_execution(
            execution_id=this_execution,
            message=message,
            trigger_type=backfill.trigger_type,
            schedule=schedule_of(backfill),
            revision=stored.revision if stored else 0,
            inputs=backfill.inputs,
            labels=backfill.labels,
            at=now(),
        )
        executions_repository.create_if_absent(execution)
    execution, ended_here = _take_attempt(this_execution)
    if execution.state.current not in TERMINAL_STATES:
        ran = _run_attempt(execution, stored, budget_seconds)
        if ran is None:
            return  # a newer attempt took over; it finishes the slot
        execution, ended_here = ran, True
    if ended_here:
        _stop_after(message, stored, execution)  # before the next slot is dispatched
    ended = execution.state.current
    outcome = {"SUCCESS": SlotOutcome.SUCCEEDED, "KILLED": SlotOutcome.CANCELLED}.get(ended, SlotOutcome.FAILED)
    _end_slot(message, backfill, outcome, execution.id, round_)


def _park_until_the_flow_is_valid(message: SlotMessage, stored: StoredFlow) -> None:
    """The stored flow no longer validates: its backfill is held, as while its trigger is disabled, and this
    slot parked; nothing runs the flow as it may not be read, nothing is lost, and storing a valid revision
    releases them (or deleting the flow cancels them)."""
    reason = stored.invalid_message()
    logger.warning("backfill slot parked", extra={"slot": format_date(message.date), "reason": reason})
    holds.reconcile_hold(message.trigger_key)
    backfill_slots.release_slot(message)


def _end_slot(
    message: SlotMessage, backfill: Backfill, outcome: SlotOutcome, execution: str | None, round_: int, reason=None
) -> None:
    """Record how the slot ended, then count it on the backfill (which dispatches the next)."""
    triggers_repository.record_slot(
        SlotRecord(
            backfill_id=backfill.id,
            date=message.date,
            state=outcome,
            execution_id=execution,
            reason=reason,
            round=round_,
        )
    )
    backfill_slots.finish_slot(message, outcome)


def _run_live_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    key = message.trigger_key
    stored = flows_repository.find(message.tenant, message.namespace, message.flow_id)
    flow = stored.flow if stored else None
    if stored is not None and flow is None:
        logger.warning("live slot dropped", extra={"trigger": key.pk, "reason": stored.invalid_message()})
        return
    trigger = flow.trigger(message.trigger_id) if flow else None
    if stored is None or flow is None or trigger is None or not trigger.is_schedule:
        logger.info("live slot dropped: its trigger is gone", extra={"trigger": key.pk})
        return
    execution_id = live_execution_id_for(key, message.date)
    problem = None
    try:
        inputs = flow_inputs.resolve(
            flow.inputs,
            trigger.inputs,
            None,
            flow.variables(stored.revision),
            where=f"triggers[{trigger.id}].inputs",
        )
    except Invalid as exc:
        inputs, problem = {}, exc.message
    if executions_repository.get(execution_id) is None:
        if flow.trigger_disabled(trigger, triggers_repository.get_state(key).disabled):
            logger.info("live slot dropped: its trigger is disabled", extra={"trigger": key.pk})
            return
        execution = new_execution(
            execution_id=execution_id,
            message=message,
            trigger_type=trigger.type,
            schedule=trigger.schedule(),
            revision=stored.revision,
            inputs=inputs,
            labels=normalize_labels(flow.labels),
            at=now(),
        )
        executions_repository.create_if_absent(execution)
    execution, ended_here = _take_attempt(execution_id)
    if execution.state.current not in TERMINAL_STATES:
        ran = _run_attempt(execution, stored, budget_seconds, problem)
        if ran is None:
            return
        execution, ended_here = ran, True
    if ended_here:
        _stop_after(message, stored, execution)


def _stop_after(message: SlotMessage, stored: StoredFlow | None, execution: Execution) -> None:
    """Kestra's stopAfter: an execution ending in one of the listed states disables its trigger. Applied
    only by the attempt that ended it, so a duplicate message cannot disable a re-enabled trigger again."""
    trigger: TriggerSpec | None = stored.flow.trigger(message.trigger_id) if stored and stored.flow else None
    if trigger and trigger.stop_after and execution.state.current in trigger.stop_after:
        key = message.trigger_key
        holds.disable_trigger(key, True)
        logger.info("trigger disabled by stopAfter", extra={"trigger": key.pk, "state": execution.state.current})


def _take_attempt(execution_id: str) -> tuple[Execution, bool]:
    """The execution, now owned by this attempt; or already terminal, or FAILED when retries are spent.
    The flag says whether this call ended it (retries spent)."""
    execution = executions_repository.get(execution_id)
    if execution is None:  # each caller created it first: only a deletion since (its flow's) gets here
        raise LookupError(f"execution {execution_id} was deleted before its attempt could start")
    if execution.state.current in TERMINAL_STATES:
        return execution, False
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
        return execution, True
    return execution, False


def _run_attempt(execution: Execution, stored, budget_seconds, problem: str | None = None) -> Execution | None:
    logs = ExecutionLog(execution)

    def save_progress(current: Execution) -> None:
        logs.flush()
        executions_repository.save(current)

    if stored is not None and stored.flow is None:
        problem = problem or stored.invalid_message()
    if stored is None or stored.flow is None or problem:
        logs.add(None, "ERROR", problem or f"Flow {execution.namespace}.{execution.flow_id} no longer exists")
        execution.state = transition(execution.state, "FAILED", now())
    else:
        killed = lambda: executions_repository.kill_requested(execution.id)  # noqa: E731
        execution = run_flow(stored.flow, stored.revision, execution, logs.add, save_progress, budget_seconds, killed)
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

    def add(self, task_run: TaskRun | None, level: str, message: str, at: datetime | None = None) -> None:
        at = at or now()
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
