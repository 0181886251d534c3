"""One work-queue message, one slot: create or resume its execution exactly once, and run the flow.

A backfill slot's writes, each surviving a crash at any point:
1. the backfill record: the slot DISPATCHED -> RUNNING (or PARKED when held);
2. the execution, created by a conditional put on an id derived from (backfill id, slot, round), unless
   the reprocess policy skips the slot: already RUNNING under its first attempt's lease when its flow has no
   concurrency limit to wait for (slots/attempts.py create_execution);
3. else the attempt: the execution taken over only when no live attempt holds its lease, and once it holds a
   place under its flow's concurrency limit (slots/concurrency.py: else QUEUED, CANCELLED or FAILED);
4. the final state, written only by the attempt that owns the execution: how the slot ended (a skipped
   slot, which has no execution, writes a slot record instead, rewritten identically by a redelivery);
5. the backfill record: the slot counted once and the next slot dispatched.
A live schedule slot does 2 to 4, its id derived from (trigger, slot). A message redelivered after a crash
finds the state its predecessor left and carries on from there.
"""

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from backfill_core import metrics
from backfill_core.backfills import holds, planning
from backfill_core.backfills import slots as backfill_slots
from backfill_core.backfills.model import SlotOutcome
from backfill_core.backfills.progress import Claim
from backfill_core.backfills.state_machine import schedule_of
from backfill_core.errors import Invalid, SlotNotDue
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows.execution import Execution
from backfill_core.flows.labels import merge_labels
from backfill_core.flows.model import TriggerSpec
from backfill_core.flows.stored import StoredFlow
from backfill_core.ids import backfill_execution_id, live_execution_id
from backfill_core.schedules.kestra_time import format_date, now, storage_key
from backfill_core.slots.admitted import run_admitted
from backfill_core.slots.attempts import create_execution, new_execution
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import executions_repository, flows_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey

logger = Logger(child=True)

MAX_TURN_SLEEP_SECONDS = 2.0  # a message this close to its dispatch time waits for it in the executor


def run_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    """Raises SlotBusy when another live attempt holds the execution: the message is retried later."""
    if message.kind == "schedule":
        _run_live_slot(message, budget_seconds)
    else:
        _run_backfill_slot(message, budget_seconds)


def _wait_for_its_turn(message: SlotMessage) -> None:
    """A slot the rate limit dispatches at a set time starts no earlier: SQS delays whole seconds (15 minutes at
    most), so the rest of a second is slept here, and a longer wait goes back to the queue (SlotNotDue)."""
    if message.not_before is None:
        return
    early = (message.not_before - now()).total_seconds()
    if early > MAX_TURN_SLEEP_SECONDS:
        raise SlotNotDue(early)
    if early > 0:
        time.sleep(early)


def _run_backfill_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    _wait_for_its_turn(message)
    claimed = backfill_slots.claim_slot(message)
    if claimed is None or claimed.decision not in (Claim.RUN, Claim.RESUME):
        decision = claimed.decision.value if claimed else "GONE"
        logger.info("slot not run", extra={"slot": format_date(message.date), "decision": decision})
        return
    spec, decision, known = claimed.spec, claimed.decision, claimed.progress
    slot_key = storage_key(message.date)
    round_ = message.round
    this_execution = backfill_execution_id(spec.id, slot_key, round_)
    stored = flows_repository.find_current(message.tenant, message.namespace, message.flow_id)
    if decision == Claim.RESUME and executions_repository.get(this_execution) is None:
        # Claimed, then paused or cancelled before its execution existed: it does not start now, unless
        # the backfill carried on since, when the slot is still this claim's to run.
        progress = backfill_slots.release_slot(message)
        if progress is None or progress.lane(message.lane or 0) != backfill_slots.running_slot(message):
            return
        if progress.held or not progress.stored_running:
            return
        decision, known = Claim.RUN, progress
    if (
        decision == Claim.RUN
        and stored is not None
        and stored.flow is None
        and executions_repository.get(this_execution) is None  # one that started fails, naming why
    ):
        _park_until_the_flow_is_valid(message, stored)
        return
    started = None
    if decision == Claim.RUN:
        if round_ == 0 and spec.reprocess != "all" and executions_repository.get(this_execution) is None:
            key = spec.trigger_key
            skipped = planning.skipped_slots(
                schedule_of(spec), key, spec.reprocess, message.date, message.date, besides=spec.id
            ).get(slot_key)
            if skipped:
                backfill_slots.skip_slot(message, skipped[1], skipped[0], known)
                return
        execution = new_execution(
            execution_id=this_execution,
            message=message,
            trigger_type=spec.trigger_type,
            schedule=schedule_of(spec),
            revision=stored.revision if stored else 0,
            inputs=spec.inputs,
            labels=merge_labels(_flow_labels(stored, message.trigger_id), spec.labels),
            at=now(),
        )
        started = create_execution(execution, stored)
    ran = run_admitted(message, this_execution, stored, budget_seconds, from_caller=True, started=started)
    if ran is None:
        return  # queued by the flow's concurrency limit, or a newer attempt took over: it finishes the slot
    execution, ended_here = ran
    if ended_here:
        _stop_after(message, stored, execution)  # before the next slot is dispatched
        _count_run(spec.id, execution)
    outcome = SlotOutcome.of_execution(execution.state.current) or SlotOutcome.FAILED
    backfill_slots.finish_slot(message, outcome, known)


def _count_run(backfill_id: str, execution: Execution) -> None:
    """How long the execution ran, from its start to its end: counted by the attempt that ended it, so once."""
    state = execution.state
    if state.start_date is not None and state.end_date is not None:
        metrics.slot_ran(backfill_id, (state.end_date - state.start_date).total_seconds())


def _flow_labels(stored: StoredFlow | None, trigger_id: str) -> list:
    """Every execution of a flow carries the flow's labels and its trigger's (Kestra's rule), a backfill's
    included."""
    return stored.flow.execution_labels(trigger_id) if stored and stored.flow else []


def _park_until_the_flow_is_valid(message: SlotMessage, stored: StoredFlow) -> None:
    """The stored flow no longer validates: its backfill is held, as while its trigger is disabled, and this
    slot parked; nothing runs the flow as it may not be read, nothing is lost, and storing a valid revision
    releases them (or deleting the flow cancels them)."""
    reason = stored.invalid_message()
    logger.warning("backfill slot parked", extra={"slot": format_date(message.date), "reason": reason})
    holds.reconcile_hold(message.trigger_key)
    backfill_slots.release_slot(message)


def _run_live_slot(message: SlotMessage, budget_seconds: Callable[[], float]) -> None:
    key = message.trigger_key
    stored = flows_repository.find_current(message.tenant, message.namespace, message.flow_id)
    flow = stored.flow if stored else None
    if stored is not None and flow is None:
        logger.warning("live slot dropped", extra={"trigger": key.pk, "reason": stored.invalid_message()})
        return
    trigger = flow.trigger(message.trigger_id) if flow else None
    if stored is None or flow is None or trigger is None or not trigger.is_schedule:
        logger.info("live slot dropped: its trigger is gone", extra={"trigger": key.pk})
        return
    execution_id = live_execution_id(key.pk, storage_key(message.date))
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
    started = None
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
            labels=flow.execution_labels(trigger.id),
            at=now(),
        )
        started = create_execution(execution, stored)
    ran = run_admitted(
        message,
        execution_id,
        stored,
        budget_seconds,
        problem,
        from_caller=False,
        started=started,
        on_start=lambda: _live_started(key),
    )
    if ran is None:
        return
    execution, ended_here = ran
    if ended_here:
        _stop_after(message, stored, execution)


def _live_started(key: TriggerKey) -> None:
    """The live slot holds its executor (and its place): the backfills that stepped aside for it carry on."""
    try:
        holds.release_after_live(key)
    except Exception:  # the live run goes on; the watchdog lifts a hold left behind
        logger.exception("could not release the backfills held for a live slot", extra={"trigger": key.pk})


def _stop_after(message: SlotMessage, stored: StoredFlow | None, execution: Execution) -> None:
    """Kestra's stopAfter: an execution ending in one of the listed states disables its trigger. Applied
    only by the attempt that ended it, so a duplicate message cannot disable a re-enabled trigger again."""
    trigger: TriggerSpec | None = stored.flow.trigger(message.trigger_id) if stored and stored.flow else None
    if trigger and trigger.stop_after and execution.state.current in trigger.stop_after:
        key = message.trigger_key
        holds.disable_trigger(key, True)
        logger.info("trigger disabled by stopAfter", extra={"trigger": key.pk, "state": execution.state.current})
