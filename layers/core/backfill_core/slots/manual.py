"""What a person does to one execution through Kestra's execution routes: a run by hand (POST
/executions/{namespace}/{id}), the replay of an ended execution, its deletion. A run is created CREATED and
queued as an ExecutionMessage, run by its id (slots/by_id.py) behind its flow's concurrency limit, as a
Subflow's child that its parent does not wait for; one whose message was lost is queued again by the watchdog
(slots/execution_messages.py).

The caller's inputs and labels are data, as a backfill's are: never rendered, typed and checked as the flow
declares them, and refused when a script task of the flow would hand them to the shell or Python as code (the
runner checks them again before each script task, as the flow may have changed since)."""

from datetime import datetime
from typing import Any

from backfill_core.errors import ConcurrentUpdate, Conflict, Invalid, NotFound
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows import shell_safety
from backfill_core.flows.execution import ENDED_STATES, Execution, ExecutionState, State, StateHistory, TaskRun
from backfill_core.flows.labels import CORRELATION_LABEL, SYSTEM_PREFIX, Label, merge_labels
from backfill_core.flows.model import Flow
from backfill_core.flows.runner import transition
from backfill_core.flows.stored import StoredFlow
from backfill_core.flows.tasks.internal_storage import FILES_PREFIX, execution_prefix
from backfill_core.ids import new_id
from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.slots import execution_messages
from backfill_core.storage import (
    execution_files,
    executions_deletion,
    executions_repository,
    flows_repository,
)

MAX_SCHEDULE_DELAY_SECONDS = 900  # SQS's longest delay: how far ahead scheduleDate may be


def executable_flow(stored: StoredFlow, revision: int | None) -> Flow:
    """The flow a new run runs: Kestra refuses a disabled flow (409) and a revision it does not have."""
    name = f"{stored.namespace}.{stored.id}"
    stored.at_revision(revision)
    if stored.flow is None:
        raise Invalid(f"Cannot execute an invalid flow: {stored.invalid_message()}")
    if stored.flow.disabled:
        raise Conflict(f"Cannot execute a flow which is disabled: {name}")
    return stored.flow


def check_caller_labels(labels: list[Label]) -> None:
    for label in labels:
        if label.key.startswith(SYSTEM_PREFIX) and label.key != CORRELATION_LABEL:
            raise Invalid(f"labels: system labels can only be set by Kestra itself, offending label: {label.key}")


def start_run(
    tenant: str,
    namespace: str,
    flow_id: str,
    given_inputs: dict[str, Any] | None,
    labels: list[Label],
    schedule_date: datetime | None = None,
    revision: int | None = None,
) -> Execution:
    """Kestra's createExecution: a new execution of the flow's latest revision, queued to run now, or at
    `schedule_date` (within SQS's 15-minute delay)."""
    stored = flows_repository.get(tenant, namespace, flow_id)
    flow = executable_flow(stored, revision)
    check_caller_labels(labels)
    at = now()
    delay = _delay(schedule_date, at)
    inputs = flow_inputs.resolve(flow.inputs, None, given_inputs, flow.variables(stored.revision), where="inputs")
    _check_as_code(flow, labels, given_inputs)
    execution = _new_execution(
        tenant, stored, merge_labels(flow.execution_labels(None), labels), inputs, at, schedule_date or at
    )
    execution.message_due = execution_messages.message_due(at, delay)
    executions_repository.create_if_absent(execution)
    execution_messages.queue(execution, delay)
    return execution


def replay(execution_id: str, task_run_id: str | None = None, revision: int | None = None) -> Execution:
    """Kestra's replay: a new execution of an ended one, with its trigger (a slot's `trigger.date` too), inputs and
    labels, `originalId` naming it. A replayed backfill slot is a new run by hand of that slot, not the
    backfill's: the backfill's slot stays as its own execution ended (its retry-failed runs the slot again as the
    backfill's). Its values are the original's: the runner checks them against the flow's scripts as it checks a
    backfill's."""
    original = executions_repository.get(execution_id)
    if original is None or original.deleted:
        raise NotFound(f"Execution not found: {execution_id}")
    if task_run_id is not None:
        raise Invalid("taskRunId: a replay runs the flow from its first task here; send it without taskRunId")
    if original.state.current not in ENDED_STATES:
        raise Conflict(f"Execution {execution_id} is {original.state.current}: only an ended execution is replayed")
    stored = flows_repository.get(original.tenant_id, original.namespace, original.flow_id)
    executable_flow(stored, revision)
    execution = _new_execution(
        original.tenant_id, stored, original.labels, dict(original.inputs), now(), original.scheduled_date
    )
    execution.trigger = original.trigger
    execution.original_id = original.id
    execution.message_due = execution_messages.message_due(now())
    executions_repository.create_if_absent(execution)
    execution_messages.queue(execution)
    return execution


def restart(execution_id: str, revision: int | None = None) -> Execution:
    """Kestra's restart: the same execution runs again from its failed task. The tasks of the flow's `tasks`
    that ended before it are not run again (their task runs and outputs stay); the failed one and what follows
    run, and the `errors` and `finally` tasks as their rules say. A backfill's slot then reads as the restarted
    execution does (so retry-failed never runs one a restart put right again); the backfill's counts keep how
    the slot ended in it."""
    found = executions_repository.get(execution_id)
    if found is None:
        raise NotFound(f"Execution not found: {execution_id}")
    if found.state.current not in ENDED_STATES:
        raise Conflict(f"Execution must be terminated to be restarted, current state is '{found.state.current}'")
    if not any(run.state.current == ExecutionState.FAILED for run in found.task_run_list):
        raise Invalid(f"No task found to restart execution {execution_id} from: none of its task runs FAILED")
    stored = flows_repository.get(found.tenant_id, found.namespace, found.flow_id)
    flow = executable_flow(stored, revision)
    kept = kept_before_failure(flow, found.task_run_list)
    found.kept_task_runs = kept
    found.task_run_list = list(kept)
    found.outputs = None
    found.flow_revision = stored.revision
    found.restarted_at_attempt = found.attempt
    found.lease_until = 0.0  # its attempt ended with it: the next may take it at once
    found.state = transition(found.state, ExecutionState.RESTARTED, now())
    found.message_due = execution_messages.message_due(now())
    try:  # the kill that ended it is not asked again: cleared by the write that says RESTARTED
        executions_repository.save(found, clear_kill=True)
    except ConcurrentUpdate as exc:
        raise Conflict(f"Execution {execution_id} changed while it was restarted: try again") from exc
    execution_messages.queue(found)
    return found


def kept_before_failure(flow: Flow, task_runs: list[TaskRun]) -> list[TaskRun]:
    """The task runs of the flow's `tasks` that ended well before the first that did not, with their children."""
    main = {task.id for task in flow.tasks}
    kept_ids: set[str] = set()
    for run in task_runs:
        if run.parent_task_run_id is None and run.task_id in main:
            if run.state.current not in (ExecutionState.SUCCESS, ExecutionState.WARNING, ExecutionState.SKIPPED):
                break
            kept_ids.add(run.id)
    kept: list[TaskRun] = []
    for run in task_runs:  # parents come before their children in the record
        if run.id in kept_ids or run.parent_task_run_id in kept_ids:
            kept_ids.add(run.id)
            kept.append(run)
    return kept


def delete(execution_id: str, *, delete_logs: bool, delete_files: bool) -> None:
    """Kestra's delete: the execution, and as asked its log lines and its internal-storage files. One that has not
    ended is refused (its attempt owns the record): kill it, then delete it."""
    found = executions_repository.get(execution_id)
    if found is None:
        raise NotFound(f"Execution not found: {execution_id}")
    if found.state.current not in ENDED_STATES:
        raise Conflict(
            f"Execution {execution_id} is {found.state.current}: only an ended execution is deleted; kill it first"
        )
    if delete_files:
        execution_files.delete_under(
            f"{FILES_PREFIX}{found.tenant_id}{execution_prefix(found.namespace, found.flow_id, found.id)}"
        )
    executions_deletion.delete(execution_id, with_logs=delete_logs)


def _delay(schedule_date: datetime | None, at: datetime) -> int:
    if schedule_date is None:
        return 0
    if schedule_date.tzinfo is None:
        raise Invalid("scheduleDate: give a time zone or offset (e.g. 2024-01-01T00:00:00Z)")
    seconds = int((schedule_date - at).total_seconds())
    if seconds > MAX_SCHEDULE_DELAY_SECONDS:
        raise Invalid(
            f"scheduleDate: {format_date(schedule_date)} is more than {MAX_SCHEDULE_DELAY_SECONDS // 60} minutes "
            "ahead; a run by hand may be scheduled that far at most (SQS's delay)"
        )
    return max(seconds, 0)


def _check_as_code(flow: Flow, labels: list[Label], given_inputs: dict[str, Any] | None) -> None:
    found = shell_safety.problem(flow, labels, given_inputs)
    if found:
        raise Invalid(found.removeprefix("backfill."))  # the field is the run's own `inputs` or `labels`


def _new_execution(
    tenant: str, stored: StoredFlow, labels: list[Label], inputs: dict[str, Any], at: datetime, scheduled: datetime
) -> Execution:
    return Execution(
        id=new_id(),
        tenant_id=tenant,
        namespace=stored.namespace,
        flow_id=stored.id,
        flow_revision=stored.revision,
        labels=labels,
        inputs=inputs,
        trigger=None,
        state=State(
            current=ExecutionState.CREATED,
            histories=[StateHistory(state=ExecutionState.CREATED, date=at)],
            start_date=at,
        ),
        kind="manual",
        scheduled_date=scheduled,
    )
