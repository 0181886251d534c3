"""One task run of an execution, as Kestra's worker and executor make it: its attempts (a `retry` adds one after
each failure, waiting inside the executor's time budget), its `timeout` per attempt, and its final state
(`warningOnRetry`, `allowFailure`, `allowWarning`), with the outputs of its last attempt.

A retry stays inside its execution: the exactly-once rule per slot is the execution's, and an executor that
dies while a task waits for its next attempt leaves the execution to the attempt logic of slots/attempts.py,
which starts the flow over as the same execution."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from backfill_core.flows.branches import task_run_added
from backfill_core.flows.execution import ENDED_STATES, Execution, State, StateHistory, TaskRun, TaskRunAttempt
from backfill_core.flows.outputs import MAX_RECORD_BYTES, outputs_problem
from backfill_core.flows.task_spec import TaskSpec
from backfill_core.flows.tasks.control import CONTROL_TASK_TYPES, run_control_task
from backfill_core.flows.tasks.protocol import StoragePlace
from backfill_core.flows.tasks.subflow import SUBFLOW_TYPES, SubflowStarter, call_of
from backfill_core.flows.tasks.task_types import KillCheck, TaskOutcome, run_task
from backfill_core.flows.templating import TemplateRenderError, render, render_properties
from backfill_core.ids import new_id
from backfill_core.schedules.kestra_time import format_date, iso_duration, now, parse_iso_duration
from backfill_core.settings import settings

MIN_ATTEMPT_SECONDS = 1.0  # a retry needs at least this much of the budget left after its wait
KILL_CHECK_SECONDS = 1.0  # while waiting for the next attempt

LogWriter = Callable[[TaskRun | None, str, str, datetime | None], None]


@dataclass
class TaskRunContext:
    """What every task run of one execution shares."""

    execution: Execution
    log: LogWriter
    save: Callable[[Execution], None]
    budget_seconds: Callable[[], float]
    killed: KillCheck
    subflows: SubflowStarter | None = None  # starts child executions; the executor's, which has the tables


@dataclass(frozen=True)
class Placement:
    """Where a task run sits in the tree of flowable tasks, as Kestra records and exposes it."""

    parent_id: str | None = None  # the flowable task run it runs inside (`parentTaskRunId`)
    value: str | None = None  # the ForEach value it runs for (`taskrun.value`)
    iteration: int | None = None  # that value's index (`taskrun.iteration`)
    outer_values: tuple[str, ...] = ()  # the values of the task runs above it, outermost first (outputs' keys)
    parents: tuple[dict[str, Any], ...] = field(default=())  # Kestra's `parents`, nearest first
    working_directory: str | None = None  # the kestra:// archive a WorkingDirectory's tasks share

    def output_keys(self) -> tuple[str, ...]:
        """Where its outputs sit below `outputs.<taskId>`, as Kestra nests them: `outputs.t[value]`."""
        return self.outer_values + ((self.value,) if self.value is not None else ())


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


def new_task_run(task: TaskSpec, run: TaskRunContext, placement: Placement) -> TaskRun:
    """A RUNNING task run of the task, added to the execution."""
    execution, started = run.execution, now()
    task_run = TaskRun(
        id=new_id(),
        execution_id=execution.id,
        namespace=execution.namespace,
        flow_id=execution.flow_id,
        task_id=task.id,
        parent_task_run_id=placement.parent_id,
        value=placement.value,
        iteration=placement.iteration,
        state=transition(
            State(current="CREATED", histories=[StateHistory(state="CREATED", date=started)]), "RUNNING", started
        ),
    )
    execution.task_run_list.append(task_run)
    task_run_added()
    return task_run


def task_variables(variables: dict[str, Any], task: TaskSpec, task_run: TaskRun, placement: Placement) -> dict:
    """The variables a task's expressions see: the execution's, its `task`, `taskrun` and `parents`."""
    taskrun: dict[str, Any] = {
        "id": task_run.id,
        "startDate": format_date(task_run.state.histories[0].date),
        "attemptsCount": len(task_run.attempts),
    }
    if task_run.value is not None:
        taskrun |= {"value": task_run.value, "iteration": task_run.iteration}
    if task_run.parent_task_run_id:
        taskrun["parentId"] = task_run.parent_task_run_id
    found = {**variables, "task": {"id": task.id, "type": task.type}, "taskrun": taskrun}
    if placement.parents:
        found |= {"parents": list(placement.parents), "parent": placement.parents[0]}
    return found


def run_task_run(
    task: TaskSpec,
    task_run: TaskRun,
    variables: dict[str, Any],
    run: TaskRunContext,
    refusal: str | None,
    placement: Placement,
) -> TaskRun:
    """Run the task until an attempt succeeds or no retry is due; `refusal` fails it before any attempt."""
    execution = run.execution
    log = partial(run.log, task_run)
    while True:
        attempt = State(current="RUNNING", histories=[StateHistory(state="RUNNING", date=now())], start_date=now())
        context = task_variables(variables, task, task_run, placement)
        outcome = _attempt(task, task_run, context, run, refusal, placement)
        problem = outputs_problem(outcome.outputs, lambda: len(execution.model_dump_json()))
        if problem:
            log("ERROR", problem, None)
            outcome = TaskOutcome(succeeded=False)
        attempt_state = "SUCCESS" if outcome.succeeded else "KILLED" if outcome.killed else "FAILED"
        task_run.attempts.append(TaskRunAttempt(state=transition(attempt, attempt_state, now())))
        task_run.outputs = outcome.outputs
        if attempt_state != "FAILED" or refusal or not _retry_waited(task, task_run, run):
            break
    final = "KILLED" if task_run.state.current == "KILLED" else attempt_state  # killed while it waited
    retried = len(task_run.attempts) > 1 and task.retry is not None and task.retry.warning_on_retry
    if final == "SUCCESS" and outcome.warning:  # a script's warningOnStdErr
        final = "WARNING"
    if (final == "SUCCESS" and retried) or (final == "FAILED" and task.allow_failure):
        final = "WARNING"
    if final == "WARNING" and task.allow_warning:
        final = "SUCCESS"
    if task_run.state.current != final:
        task_run.state = transition(task_run.state, final, now())
    run.save(execution)
    return task_run


def _attempt(
    task: TaskSpec,
    task_run: TaskRun,
    context: dict[str, Any],
    run: TaskRunContext,
    refusal: str | None,
    placement: Placement,
) -> TaskOutcome:
    """One attempt: properties rendered afresh (`taskrun.attemptsCount` counts the attempts before it)."""
    log = partial(run.log, task_run)
    try:
        if refusal:
            raise TemplateRenderError(refusal)
        rendered = render_properties(task.properties(), context)
        if task.timeout:
            timeout = render(task.timeout, context)
            parse_iso_duration(timeout)  # a rendered timeout that is no duration fails the attempt
            rendered["timeout"] = timeout
        if task.type in CONTROL_TASK_TYPES:
            return run_control_task(task.type, rendered, log, run.budget_seconds(), run.killed)
        if task.type in SUBFLOW_TYPES:
            # One child per attempt of the task run, wherever it sits (its ForEach values), whoever runs it.
            key = (task.id, *placement.output_keys(), f"attempt{len(task_run.attempts) + 1}")
            if run.subflows is None:
                raise TemplateRenderError("a Subflow needs the executor, which starts executions")
            call = call_of(task, rendered, key)
            run.save(run.execution)  # the task run shows RUNNING while its child runs
            return run.subflows(call, log, run.killed)
        return run_task(
            task.type,
            rendered,
            log,
            run.budget_seconds(),
            run.killed,
            execution_id=run.execution.id,
            task_id=task.id,
            storage=storage_place(run.execution, task_run, placement.working_directory),
        )
    except TemplateRenderError as exc:
        log("ERROR", str(exc), None)
    except ValueError as exc:
        log("ERROR", f"timeout: {exc}", None)
    return TaskOutcome(succeeded=False)


def storage_place(execution: Execution, task_run: TaskRun, working_directory: str | None = None) -> StoragePlace:
    """Where the task run's internal-storage files go: Kestra's layout, in this deployment's bucket; and the
    archive of the WorkingDirectory it runs in, if any."""
    return StoragePlace(
        bucket=settings().execution_files_bucket,
        tenant=execution.tenant_id,
        namespace=execution.namespace,
        flow_id=execution.flow_id,
        task_run_id=task_run.id,
        working_directory=working_directory,
    )


def _retry_waited(task: TaskSpec, task_run: TaskRun, run: TaskRunContext) -> bool:
    """Whether a retry is due and its wait passed; the task run is RETRYING meanwhile (KILLED if a kill came)."""
    if task.retry is None:
        return False
    log, attempts = partial(run.log, task_run), task_run.attempts
    first_started = attempts[0].state.histories[0].date
    last_ended = attempts[-1].state.end_date or now()
    wait = task.retry.next_wait(len(attempts), first_started, last_ended)
    if wait is None:
        return False
    seconds, left = wait.total_seconds(), run.budget_seconds()
    if seconds + MIN_ATTEMPT_SECONDS > left:
        log(
            "ERROR",
            f"Attempt {len(attempts) + 1} not run: it is due in {seconds:g} s, but the executor has {left:.0f} s "
            "left of its time budget; the task fails",
            None,
        )
        return False
    size = len(run.execution.model_dump_json())
    if size > MAX_RECORD_BYTES:
        log("ERROR", f"Attempt {len(attempts) + 1} not run: the execution's record is already {size:,} bytes", None)
        return False
    log("WARN", f"Attempt {len(attempts)} failed; attempt {len(attempts) + 1} in {seconds:g} s", None)
    task_run.state = transition(transition(task_run.state, "FAILED", now()), "RETRYING", now())
    run.save(run.execution)
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, KILL_CHECK_SECONDS))
        if run.killed():
            task_run.state = transition(task_run.state, "KILLED", now())
            return False
    task_run.state = transition(task_run.state, "RUNNING", now())
    return True
