"""Runs a flow for one attempt of one execution, as Kestra's executor does: its `tasks` in order, skipping
disabled ones; on a failure the rest of the block is skipped and the flow's `errors` run; its `finally` tasks
run last, whatever happened; the execution ends in the worst state of its task runs (KILLED, FAILED, WARNING,
SUCCESS; a flowable task's stands for its children's); then the flow's `outputs` are evaluated onto it; then,
unless it was killed, its `afterExecution` tasks run, seeing `execution.state`, without changing it."""

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backfill_core.flows import shell_safety
from backfill_core.flows.branches import worst
from backfill_core.flows.execution import CALLERS_KINDS, Execution, ExecutionState, TaskRun
from backfill_core.flows.flowable import Blocks, run_block
from backfill_core.flows.model import Flow
from backfill_core.flows.outputs import evaluate_flow_outputs
from backfill_core.flows.secrets import SecretScope, current_scope
from backfill_core.flows.task_run import Placement, TaskRunContext, transition
from backfill_core.flows.tasks.script_types import SCRIPT_TASK_TYPES
from backfill_core.flows.tasks.subflow import SubflowStarter
from backfill_core.flows.tasks.task_types import KillCheck
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.settings import flow_envs

__all__ = ["LogWriter", "run_flow", "transition", "variables"]

LogWriter = Callable[[TaskRun | None, str, str, datetime | None], None]
"""Receives (task run, level, message, when: None for now) for each log line."""


def variables(flow: Flow, revision: int, execution: Execution) -> dict[str, Any]:
    """The template variables of DESIGN.md (trigger, execution, flow, inputs, labels), the flow's `variables` as
    `vars` (as written: Kestra renders an expression inside one only through render()), `envs` (the executor's
    variables of FLOW_ENV_PREFIX only), and `outputs`, which grows as task runs end."""
    return {
        "trigger": dict(execution.trigger.variables) if execution.trigger else {},
        "execution": {
            "id": execution.id,
            "startDate": format_date(execution.state.start_date),
            "state": execution.state.current,
        },
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": revision, "tenantId": execution.tenant_id},
        "inputs": dict(execution.inputs),
        "labels": {label.key: label.value for label in execution.labels},
        "vars": dict(flow.flow_variables),
        "envs": flow_envs(),
        "outputs": {},
    }


def _caller_data_as_code(flow: Flow, execution: Execution, from_caller: bool) -> str | None:
    """A backfill's (or a run by hand's) labels and inputs were checked against the flow at creation; the flow may
    have changed since, so they are checked again against the commands about to render them. Inputs and labels the
    flow's author gave (the declared defaults, the trigger's inputs, the flow's labels) are not the caller's. A
    subflow started (at any depth) by a backfill may have been handed the caller's values: its inputs and labels
    other than its own flow's defaults and labels count as the caller's (`from_caller`)."""
    if execution.kind not in CALLERS_KINDS and not from_caller:
        return None
    # a child's trigger is a task; a run by hand has none
    trigger = flow.trigger(execution.trigger.id) if execution.trigger and execution.kind != "subflow" else None
    authored = {spec.id: spec.defaults for spec in flow.inputs} | dict((trigger.inputs if trigger else None) or {})
    given = {name: value for name, value in execution.inputs.items() if authored.get(name) != value}
    own_labels = flow.execution_labels(trigger.id if trigger else None)
    return shell_safety.problem(flow, [label for label in execution.labels if label not in own_labels], given)


def _one_at_a_time(write: Callable[..., None], lock: threading.Lock) -> Callable[..., None]:
    """A writer that branches running in threads call one at a time (one lock for the log and the record, as
    saving flushes the log): lines keep their order and numbers, the record is never written from two
    snapshots at once."""

    def locked(*args: Any) -> None:
        with lock:
            write(*args)

    return locked


def _masked(log: LogWriter, scope: SecretScope) -> LogWriter:
    return lambda task_run, level, message, at: log(task_run, level, scope.mask(message), at)


def run_flow(
    flow: Flow,
    revision: int,
    execution: Execution,
    log: LogWriter,
    save: Callable[[Execution], None],
    budget_seconds: Callable[[], float],
    killed: KillCheck = lambda: False,
    subflows: SubflowStarter | None = None,
    from_caller: bool = False,
) -> Execution:
    """Run the flow's blocks; `save` persists progress after each task attempt. A kill request ends the
    execution KILLED, as Kestra's kill does, and runs nothing more. `subflows` starts the child executions of
    Subflow tasks; `from_caller` says the execution descends from a backfill (its values may be a caller's). The
    secrets the flow reads are masked in every log line it writes from then on."""
    scope = SecretScope(execution.tenant_id, flow.namespace)
    token = current_scope.set(scope)
    try:
        log = _masked(log, scope)
        context = variables(flow, revision, execution)
        refusal = _caller_data_as_code(flow, execution, from_caller)
        lock = threading.Lock()  # Parallel branches run in threads
        log, save = _one_at_a_time(log, lock), _one_at_a_time(save, lock)
        run = Blocks(
            TaskRunContext(execution, log, save, budget_seconds, killed, subflows),
            lambda task: refusal if task.type in SCRIPT_TASK_TYPES else None,
        )
        ending = run_block(flow.tasks, context, run, Placement())
        if ending == ExecutionState.FAILED and flow.errors:
            ending = run_block(flow.errors, context, run, Placement())
        if ending != ExecutionState.KILLED:
            ending = run_block(flow.finally_, context, run, Placement())
        top = [task_run.state.current for task_run in execution.task_run_list if task_run.parent_task_run_id is None]
        # a flowable's state stands for its children's
        final = ending if ending == ExecutionState.KILLED else worst(top)
        if flow.outputs and final != ExecutionState.KILLED:
            try:
                record = len(execution.model_dump_json())
                execution.outputs = evaluate_flow_outputs(flow.outputs, context, record)
            except ValueError as exc:
                log(None, "ERROR", f"Failed to render output values: {exc}", None)
                final = ExecutionState.FAILED
        if final == ExecutionState.KILLED:  # Kestra's execution passes through KILLING while its running tasks stop
            execution.state = transition(execution.state, ExecutionState.KILLING, now())
        execution.state = transition(execution.state, final, now())
        if flow.after_execution and final != ExecutionState.KILLED:
            context["execution"]["state"] = str(final)  # a plain string, as templates and filters take it
            save(execution)  # ended: a crash from here on leaves the afterExecution tasks unrun, never the flow rerun
            run_block(flow.after_execution, context, run, Placement())
        return execution
    finally:
        current_scope.reset(token)
