"""Blocks of tasks and Kestra's flowable tasks (Sequential, Parallel, If, Switch, ForEach), run inside one
execution as Kestra's executor resolves them.

A flowable is a task run of its own (no attempts), the parent (`parentTaskRunId`) of its children's task runs;
it ends in the worst state of the children of the branch it took (KILLED, FAILED, WARNING, SUCCESS), turned by
its `allowFailure`/`allowWarning`; when a child fails, its own `errors` run and it still fails. Parallel branches
and ForEach groups run at once, in threads, as flows/branches.py starts them."""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from backfill_core.flows.branches import windowed, worst
from backfill_core.flows.execution import Execution, ExecutionState, TaskRun
from backfill_core.flows.outputs import MAX_RECORD_BYTES
from backfill_core.flows.task_run import (
    LogWriter,
    Placement,
    TaskRunContext,
    new_task_run,
    run_task_run,
    task_variables,
    transition,
)
from backfill_core.flows.task_spec import FOR_EACH, IF, PARALLEL, SEQUENTIAL, SWITCH, WORKING_DIRECTORY, TaskSpec
from backfill_core.flows.task_tree import MAX_FOR_EACH_VALUES
from backfill_core.flows.tasks.control import is_truthy
from backfill_core.flows.tasks.core import LogLevel, kept_at
from backfill_core.flows.tasks.internal_storage import working_directory_uri
from backfill_core.flows.templating import TemplateRenderError, render, render_properties
from backfill_core.schedules.kestra_time import now


@dataclass
class Blocks:
    """What every block of one execution shares: the task runs' context, and why a task may not run (a
    backfill's caller data its commands would run as code)."""

    task_runs: TaskRunContext
    refusal: Callable[[TaskSpec], str | None]


def run_block(tasks: list[TaskSpec], context: dict[str, Any], run: Blocks, placement: Placement) -> str:
    """Run the block's enabled tasks in order until one fails or a kill comes: the worst state of its task
    runs (SUCCESS when none ran). Disabled tasks are left out, with no task run, as Kestra leaves them."""
    states: list[str] = []
    for task in tasks:
        if task.disabled:
            continue
        states.append(_run_one(task, context, run, placement))
        if states[-1] in (ExecutionState.KILLED, ExecutionState.FAILED):
            break
    return worst(states)


def _run_one(task: TaskSpec, context: dict[str, Any], run: Blocks, placement: Placement) -> str:
    runs = run.task_runs
    kept = _kept_by_restart(task, runs.execution, placement, context["outputs"])
    if kept is not None:
        return kept
    if runs.killed():
        return ExecutionState.KILLED
    size = len(runs.execution.model_dump_json())
    if size > MAX_RECORD_BYTES:  # task runs too are bounded: the record must stay under DynamoDB's 400 KB
        runs.log(
            None,
            "ERROR",
            f"Task '{task.id}' not run: the execution's record is already {size:,} bytes, past the "
            f"{MAX_RECORD_BYTES:,} its task runs may fill",
            None,
        )
        return ExecutionState.FAILED
    if task.log_level is not None:
        runs = replace(runs, log=_kept_from(task, runs.log))
        run = replace(run, task_runs=runs)
    task_run = new_task_run(task, runs, placement)
    if task.run_if is not None and not _runs_if(task, task_run, context, runs, placement):
        return task_run.state.current
    if task.is_flowable:
        _run_flowable(task, task_run, context, run, placement)
    else:
        run_task_run(task, task_run, context, runs, run.refusal(task), placement)
    if task_run.outputs:
        _keep_outputs(context["outputs"], task.id, placement.output_keys(), task_run.outputs)
    return task_run.state.current


def _kept_by_restart(task: TaskSpec, execution: Execution, placement: Placement, outputs: dict[str, Any]) -> str | None:
    """A restarted execution does not run again a task of its flow's `tasks` that ended before its failed one (its
    task runs, the flowable's children too, are already in the record): its state, its outputs seen again."""
    if placement.parent_id is not None or not execution.kept_task_runs:
        return None
    done = next((r for r in execution.kept_task_runs if r.task_id == task.id and r.parent_task_run_id is None), None)
    if done is None:
        return None
    for kept in execution.kept_task_runs:  # the outputs of the task and of its children, as they were
        if kept.outputs:
            keys = (kept.value,) if kept.value is not None else ()
            _keep_outputs(outputs, kept.task_id, keys, kept.outputs)
    return done.state.current


def _keep_outputs(outputs: dict[str, Any], task_id: str, keys: tuple[str, ...], values: dict[str, Any]) -> None:
    """`outputs.<taskId>`, below the ForEach values it ran for as Kestra nests them (`outputs.t[value].x`)."""
    if not keys:
        outputs[task_id] = values
        return
    node = outputs.setdefault(task_id, {})
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node.setdefault(keys[-1], {}).update(values)


def _kept_from(task: TaskSpec, log: LogWriter) -> LogWriter:
    """The log writer of a task with a `logLevel`: its own lines below that level are dropped, as Kestra drops
    them; others' lines (a flowable's children have their own level) pass."""
    least = task.log_level or LogLevel.TRACE

    def write(task_run: TaskRun | None, level: str, message: str, at: datetime | None) -> None:
        if task_run is None or task_run.task_id != task.id or kept_at(level, least):
            log(task_run, level, message, at)

    return write


def _runs_if(task: TaskSpec, task_run: TaskRun, context: dict, runs: TaskRunContext, placement: Placement) -> bool:
    """Kestra's `runIf`, rendered when the task is due: a false one ends its task run SKIPPED, one that cannot
    render ends it FAILED."""
    try:
        if is_truthy(render(str(task.run_if), task_variables(context, task, task_run, placement))):
            return True
        ending = ExecutionState.SKIPPED
    except TemplateRenderError as exc:
        runs.log(task_run, "ERROR", f"Unable to evaluate the runIf condition for task {task.id}: {exc}", None)
        ending = ExecutionState.FAILED
    task_run.state = transition(task_run.state, ending, now())
    runs.save(runs.execution)
    return False


def _run_flowable(
    task: TaskSpec, task_run: TaskRun, context: dict[str, Any], run: Blocks, placement: Placement
) -> None:
    runs = run.task_runs
    runs.save(runs.execution)
    own = task_variables(context, task, task_run, placement)
    try:
        ending = _FLOWABLES[task.type](task, task_run, own, context, run, placement)
    except TemplateRenderError as exc:
        runs.log(task_run, "ERROR", str(exc), None)
        ending = ExecutionState.FAILED
    if ending == ExecutionState.FAILED and task.allow_failure:
        ending = ExecutionState.WARNING
    if ending == ExecutionState.WARNING and task.allow_warning:
        ending = ExecutionState.SUCCESS
    task_run.state = transition(task_run.state, ending, now())
    runs.save(runs.execution)


def _below(task_run: TaskRun, placement: Placement) -> Placement:
    """Where the children of a flowable's task run sit: under it, below its value, with it first in `parents`
    (Kestra's entry of an enclosing task run: its value and its outputs, left out when it has neither)."""
    entry: dict[str, Any] = {}
    if task_run.value is not None:
        entry["taskrun"] = {"value": task_run.value}
    if task_run.outputs:
        entry["outputs"] = task_run.outputs
    parents = (entry, *placement.parents) if entry else placement.parents
    return Placement(
        parent_id=task_run.id,
        outer_values=placement.output_keys(),
        parents=parents,
        working_directory=placement.working_directory,
    )


def _with_errors(task: TaskSpec, ending: str, context: dict[str, Any], run: Blocks, below: Placement) -> str:
    """A failed branch runs the flowable's own `errors`; the flowable still fails (or ends KILLED)."""
    errors = task.children("errors") if ending == ExecutionState.FAILED else []
    if errors and run_block(errors, context, run, below) == ExecutionState.KILLED:
        return ExecutionState.KILLED
    return ending


def _sequential(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    below = _below(task_run, at)
    return _with_errors(task, run_block(task.children("tasks"), context, run, below), context, run, below)


def _parallel(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    below = _below(task_run, at)
    branches = [partial(run_block, [child], context, run, below) for child in task.children("tasks")]
    ending = windowed(
        branches, int(task.properties().get("concurrent", 0)), run.task_runs.killed, bool(at.working_directory)
    )
    return _with_errors(task, ending, context, run, below)


def _if(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    result = is_truthy(render(str(task.properties()["condition"]), own))
    task_run.outputs = {"evaluationResult": result}
    below = _below(task_run, at)
    branch = task.children("then" if result else "else")
    return _with_errors(task, run_block(branch, context, run, below), context, run, below)


def _case_key(key: Any) -> str:
    return str(key).lower() if isinstance(key, bool) else str(key)  # YAML's `true:` is Kestra's "true"


def _switch(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    value = render(str(task.properties()["value"]), own)
    cases = {_case_key(key): f"cases.{key}" for key in task.properties().get("cases") or {}}
    task_run.outputs = {"value": value, "defaults": value not in cases}
    below = _below(task_run, at)
    if value not in cases and "defaults" not in task.properties():
        run.task_runs.log(
            task_run, "WARN", f"No task found for the value '{value}': no case matches, no defaults", None
        )
        return ExecutionState.FAILED
    branch = task.children(cases.get(value, "defaults"))
    return _with_errors(task, run_block(branch, context, run, below), context, run, below)


def for_each_values(values: Any, variables: dict[str, Any]) -> list[str]:
    """Kestra's ForEach values: a JSON string rendered then read as a list, or a list whose strings and maps
    are rendered; duplicates dropped; each a string (a map or a number written as compact JSON)."""
    if isinstance(values, str):
        rendered = render(values, variables)
        try:
            found = json.loads(rendered)
        except ValueError as exc:
            raise TemplateRenderError(f"values: '{rendered[:200]}' is not a JSON list: {exc}") from exc
        if not isinstance(found, list):
            raise TemplateRenderError(f"values: '{rendered[:200]}' is not a JSON list")
    else:
        found = [render_properties(value if isinstance(value, dict) else str(value), variables) for value in values]
    if len(found) > MAX_FOR_EACH_VALUES:
        raise TemplateRenderError(
            f"values: {len(found):,} values, more than the {MAX_FOR_EACH_VALUES:,} a ForEach may run in one "
            "execution (run a subflow per batch instead)"
        )
    if any(value is None for value in found):
        raise TemplateRenderError(f"values: found {found.count(None)} null values")
    texts = [value if isinstance(value, str) else json.dumps(value, separators=(",", ":")) for value in found]
    return list(dict.fromkeys(texts))


def _for_each(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    values = for_each_values(task.properties()["values"], own)
    children, below = task.children("tasks"), _below(task_run, at)
    groups = [
        partial(run_block, children, context, run, replace(below, value=value, iteration=index))
        for index, value in enumerate(values)
    ]
    ending = windowed(
        groups, int(task.properties().get("concurrencyLimit", 1)), run.task_runs.killed, bool(at.working_directory)
    )
    return _with_errors(task, ending, context, run, below)


def _working_directory(task: TaskSpec, task_run: TaskRun, own: dict, context: dict, run: Blocks, at: Placement) -> str:
    """A Sequential whose tasks share one working directory: carried from one task runner invocation to the
    next as an archive in the internal storage, under the WorkingDirectory's own task run."""
    execution = run.task_runs.execution
    archive = working_directory_uri(execution.namespace, execution.flow_id, execution.id, task.id, task_run.id)
    below = replace(_below(task_run, at), working_directory=archive)
    return _with_errors(task, run_block(task.children("tasks"), context, run, below), context, run, below)


_FLOWABLES = {
    SEQUENTIAL: _sequential,
    PARALLEL: _parallel,
    IF: _if,
    SWITCH: _switch,
    FOR_EACH: _for_each,
    WORKING_DIRECTORY: _working_directory,
}
