"""Runs a flow's tasks, in order, for one attempt of one execution, and records what happened."""

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from backfill_core.flows import shell_safety
from backfill_core.flows.execution import ENDED_STATES, Execution, State, StateHistory, TaskRun, TaskRunAttempt
from backfill_core.flows.model import Flow
from backfill_core.flows.tasks.task_types import COMMANDS, KillCheck, TaskOutcome, run_task
from backfill_core.flows.templating import TemplateRenderError, render_properties
from backfill_core.ids import new_id
from backfill_core.schedules.kestra_time import format_date, iso_duration, now

LogWriter = Callable[[TaskRun | None, str, str, datetime | None], None]
"""Receives (task run, level, message, when: None for now) for each log line."""


def transition(state: State, new_state: str, at: datetime) -> State:
    """A state with one more history entry; terminal states also get endDate and duration."""
    histories = [*state.histories, StateHistory(state=new_state, date=at)]
    start = histories[0].date
    terminal = new_state in ENDED_STATES
    return State(
        current=new_state,
        histories=histories,
        start_date=start,
        end_date=at if terminal else None,
        duration=iso_duration(at - start) if terminal else None,
    )


def variables(flow: Flow, revision: int, execution: Execution) -> dict[str, Any]:
    """The template variables of DESIGN.md: trigger, execution, flow, inputs, labels."""
    return {
        "trigger": dict(execution.trigger.variables),
        "execution": {
            "id": execution.id,
            "startDate": format_date(execution.state.start_date),
            "state": execution.state.current,
        },
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": revision, "tenantId": execution.tenant_id},
        "inputs": dict(execution.inputs),
        "labels": {label.key: label.value for label in execution.labels},
    }


def _caller_data_as_code(flow: Flow, execution: Execution) -> str | None:
    """A backfill's labels and inputs were checked against the flow at creation; the flow may have changed since,
    so they are checked again against the commands about to render them. Inputs the flow's author gave (the
    declared defaults, the trigger's inputs) are not the caller's."""
    if execution.kind != "backfill":
        return None
    trigger = flow.trigger(execution.trigger.id)
    authored = {spec.id: spec.defaults for spec in flow.inputs} | dict((trigger.inputs if trigger else None) or {})
    given = {name: value for name, value in execution.inputs.items() if authored.get(name) != value}
    return shell_safety.problem(flow, execution.labels, given)


def run_flow(
    flow: Flow,
    revision: int,
    execution: Execution,
    log: LogWriter,
    save: Callable[[Execution], None],
    budget_seconds: Callable[[], float],
    killed: KillCheck = lambda: False,
) -> Execution:
    """Run every task in order, stopping at the first failure or kill; `save` persists progress after each
    task. A kill request ends the execution KILLED, as Kestra's kill does."""
    context = variables(flow, revision, execution)
    ending = "SUCCESS"
    for task in flow.tasks:
        if killed():
            ending = "KILLED"
            break
        started = now()
        task_run = TaskRun(
            id=new_id(),
            execution_id=execution.id,
            namespace=execution.namespace,
            flow_id=execution.flow_id,
            task_id=task.id,
            state=transition(
                State(current="CREATED", histories=[StateHistory(state="CREATED", date=started)]), "RUNNING", started
            ),
        )
        execution.task_run_list.append(task_run)
        try:
            refused = _caller_data_as_code(flow, execution) if task.type == COMMANDS else None
            if refused:
                raise TemplateRenderError(refused)
            rendered = render_properties(task.properties(), context)
            outcome = run_task(
                task.type,
                rendered,
                partial(log, task_run),
                budget_seconds(),
                killed,
                execution_id=execution.id,
                task_id=task.id,
            )
        except TemplateRenderError as exc:
            log(task_run, "ERROR", str(exc), None)
            outcome = TaskOutcome(succeeded=False)
        task_state = "SUCCESS" if outcome.succeeded else "KILLED" if outcome.killed else "FAILED"
        task_run.state = transition(task_run.state, task_state, now())
        task_run.outputs = outcome.outputs
        task_run.attempts = [TaskRunAttempt(state=task_run.state)]
        save(execution)
        if not outcome.succeeded:
            ending = task_state
            break
    execution.state = transition(execution.state, ending, now())
    return execution
