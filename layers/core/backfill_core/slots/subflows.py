"""A Subflow task's child execution: created once, run, and its end handed back to the parent's task run.

Why a child that its parent waits for runs inline, inside the parent's attempt, rather than from the queue:
- exactly once: its id is derived from the parent execution and the task's attempt (ids.subflow_execution_id)
  and it is created by a conditional put, so a parent run again after a crash finds its child again and never
  starts a second one; an ended child is not run again, its end is read back;
- nothing lost: a child left unfinished by a crash is taken up again by the parent's next attempt (the parent's
  message comes back), which holds the child under its own lease, so the two are free again at the same moment
  and no other executor can be running the child meanwhile;
- the time budget: the child's tasks draw on the same budget as the parent's (flows/budget.py, the executor's
  remaining time), so a parent and its children never outlive one invocation; and no executor sits waiting on
  a queue for a child that another executor may not pick up before the invocation ends.
A child that its parent does not wait for (wait: false) must still run, after the parent has moved on: it is
created here, then queued as an ExecutionMessage that runs it by id (slots/by_id.py). Sending is repeated when
the parent runs again and finds its child not yet ended, and the watchdog queues a child no executor took by its
due date (slots/execution_messages.py), so a crash between the put and the send loses nothing, even when the
parent never runs again; a duplicate message finds the child taken or ended and runs nothing twice.

Kestra's links: the child's trigger is the parent's task (id, type) with the parent's executionId, namespace,
flowId and flowRevision as its variables (`trigger.executionId` in the child); the task run's outputs are the
child's executionId, state and flow `outputs`."""

from collections.abc import Callable

from backfill_core.errors import Invalid
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows.execution import CALLERS_KINDS, ENDED_STATES, Execution, ExecutionTrigger, State, StateHistory
from backfill_core.flows.labels import SYSTEM_PREFIX, merge_labels, normalize_labels
from backfill_core.flows.model import Flow
from backfill_core.flows.stored import StoredFlow
from backfill_core.flows.tasks.subflow import (
    MAX_SUBFLOW_DEPTH,
    SubflowCall,
    SubflowStarter,
    literal_calls,
    result_of,
)
from backfill_core.flows.tasks.task_types import KillCheck, LogSink, TaskOutcome
from backfill_core.ids import subflow_execution_id
from backfill_core.schedules.kestra_time import now
from backfill_core.slots import concurrency, execution_messages
from backfill_core.slots.attempts import end_without_running, run_attempt, take_attempt
from backfill_core.slots.concurrency import Admission
from backfill_core.storage import executions_repository, flows_repository

Budget = Callable[[], float]


def starter(parent: Execution, budget_seconds: Budget, depth: int, from_caller: bool) -> SubflowStarter:
    """What starts the children of `parent`, which sits `depth` subflows below its chain's first execution;
    `from_caller`: that first execution is a backfill's, so the values handed down may be a caller's."""

    def start(call: SubflowCall, log: LogSink, killed: KillCheck) -> TaskOutcome:
        return _start(parent, call, log, killed, budget_seconds, depth, from_caller)

    return start


def _start(
    parent: Execution,
    call: SubflowCall,
    log: LogSink,
    killed: KillCheck,
    budget_seconds: Budget,
    depth: int,
    from_caller: bool,
) -> TaskOutcome:
    child_id = subflow_execution_id(parent.id, call.key)
    child = executions_repository.get(child_id)
    if child is None:
        try:
            child = _new_child(child_id, parent, call, depth)
        except Invalid as exc:
            log("ERROR", exc.message, None)
            return TaskOutcome(succeeded=False)
        if not call.wait:  # its message is sent after it is written: the watchdog queues it if that is lost
            child.message_due = execution_messages.message_due(now())
        if not executions_repository.create_if_absent(child):
            child = executions_repository.get(child_id) or child
        log(
            "INFO",
            f'Created new execution [[link execution="{child.id}" flowId="{child.flow_id}" '
            f'namespace="{child.namespace}"]]',
            None,
        )
    if not call.wait:
        if child.state.current not in ENDED_STATES:
            execution_messages.queue(child)
        return TaskOutcome(succeeded=True, outputs={"executionId": child.id, "state": child.state.current})
    if child.state.current not in ENDED_STATES:
        ran = _run_inline(parent, child, killed, budget_seconds, depth + 1, from_caller)
        if ran is None:
            log("ERROR", f"Execution {child.id} of the subflow was taken over by another attempt", None)
            return TaskOutcome(succeeded=False)
        child = ran
    return result_of(child.id, child.state.current, child.outputs, call)


def _run_inline(
    parent: Execution, child: Execution, killed: KillCheck, budget_seconds: Budget, depth: int, from_caller: bool
) -> Execution | None:
    """The child run to its end in this attempt, under the parent's lease, once it holds a place under its flow's
    concurrency limit (waiting here for one, slots/concurrency.admit_inline); a kill of the parent kills it."""
    stored = flows_repository.find(child.tenant_id, child.namespace, child.flow_id)
    admission, held, reason = concurrency.admit_inline(child, stored.flow if stored else None, killed, budget_seconds)
    if admission != Admission.RUN:
        return end_without_running(child, admission.value, reason)
    try:
        child, _ = take_attempt(child.id, lease_until=parent.lease_until)
        if child.state.current in ENDED_STATES:
            return child  # its executor stopped during each of its attempts: FAILED, saying so
        return run_attempt(
            child,
            stored,
            budget_seconds,
            subflows=starter(child, budget_seconds, depth, from_caller),
            from_caller=from_caller,
            killed_too=killed,
            renew=held.renew if held else None,
        )
    finally:
        if held:
            held.give_back()


def _new_child(child_id: str, parent: Execution, call: SubflowCall, depth: int) -> Execution:
    """The CREATED child, or Invalid saying why it cannot start (Kestra fails the task with the same reasons)."""
    name = f"'{call.namespace}'.'{call.flow_id}'"
    if depth + 1 > MAX_SUBFLOW_DEPTH:
        raise Invalid(
            f"Subflow {name} not started: it would be execution {depth + 2} of a chain of subflows, past the "
            f"{MAX_SUBFLOW_DEPTH + 1} allowed (a flow calling itself through other flows never ends)"
        )
    stored = flows_repository.find(parent.tenant_id, call.namespace, call.flow_id)
    if stored is None:
        raise Invalid(f"Unable to find flow {name} with revision '{call.revision or 0}'")
    flow = _flow_of(stored, call)
    # Kestra's child always carries its parent's system labels (its correlation id among them), the others only
    # when it inherits labels.
    system = [label for label in parent.labels if label.key.startswith(SYSTEM_PREFIX)]
    inherited = parent.labels if call.inherit_labels else system
    labels = merge_labels(merge_labels(normalize_labels(flow.labels), inherited), call.labels)
    try:  # the parent rendered them once: they are taken as they are, never rendered again
        inputs = flow_inputs.resolve(
            flow.inputs, None, call.inputs, flow.variables(stored.revision), where=f"{call.task_id}.inputs"
        )
    except Invalid as exc:
        raise Invalid(f"Subflow {name}: {exc.message}") from exc
    at = now()
    return Execution(
        id=child_id,
        tenant_id=parent.tenant_id,
        namespace=flow.namespace,
        flow_id=flow.id,
        flow_revision=stored.revision,
        labels=labels,
        inputs=inputs,
        trigger=ExecutionTrigger(
            id=call.task_id,
            type=call.task_type,
            variables={
                "executionId": parent.id,
                "namespace": parent.namespace,
                "flowId": parent.flow_id,
                "flowRevision": parent.flow_revision,
            },
        ),
        state=State(current="CREATED", histories=[StateHistory(state="CREATED", date=at)], start_date=at),
        kind="subflow",
        scheduled_date=at,
    )


def _flow_of(stored: StoredFlow, call: SubflowCall) -> Flow:
    name = f"'{call.namespace}'.'{call.flow_id}'"
    if stored.flow is None:
        raise Invalid(f"Cannot execute an invalid flow: {stored.invalid_message()}")
    if call.revision is not None and call.revision != stored.revision:
        raise Invalid(
            f"Unable to find flow {name} with revision '{call.revision}': only its latest revision "
            f"({stored.revision}) is kept here"
        )
    if stored.flow.disabled:
        raise Invalid(f"Cannot execute a flow which is disabled: {name}")
    return stored.flow


def chain_of(execution: Execution) -> tuple[int, bool]:
    """How many subflows below its chain's first execution this one sits, and whether that first execution is
    a backfill's (a child run from the queue knows neither, so they are read up its parents)."""
    depth, current = 0, execution
    while current.kind == "subflow" and current.trigger and depth <= MAX_SUBFLOW_DEPTH:
        parent = executions_repository.get(str(current.trigger.variables.get("executionId")))
        if parent is None:
            return depth + 1, True  # its parent was deleted: its values are taken as a caller's, to be safe
        depth, current = depth + 1, parent
    return depth, current.kind in CALLERS_KINDS


MAX_FLOWS_FOLLOWED = 100  # registered flows read to find a chain back; past it, the run-time depth bounds it


def check_chain(tenant: str, flow: Flow) -> None:
    """Refuse a flow whose written-out subflow calls lead back to it through registered flows (Kestra refuses
    only a direct call; a chain never ends either). Calls built by an expression are bounded at run time."""
    home = (flow.namespace, flow.id)
    pending = [(path, (namespace, flow_id), [home]) for path, namespace, flow_id in literal_calls(flow.task_lists())]
    seen: set[tuple[str, str]] = set()
    while pending and len(seen) < MAX_FLOWS_FOLLOWED:
        path, called, chain = pending.pop()
        if called == home:
            through = " -> ".join(f"{namespace}.{flow_id}" for namespace, flow_id in [*chain, home])
            raise Invalid(f"{path}.flowId: Recursive call to flow [{home[0]}.{home[1]}] through {through}")
        if called in seen:
            continue
        seen.add(called)
        stored = flows_repository.find(tenant, *called)
        if stored is not None and stored.flow is not None:
            calls = literal_calls(stored.flow.task_lists())
            pending += [(path, (namespace, flow_id), [*chain, called]) for _, namespace, flow_id in calls]
