"""Kestra's Subflow task (and its older names): a child execution of another flow, linked to its parent as Kestra
links it (the child's trigger is the parent's task, with the parent's executionId, namespace, flowId and
flowRevision as its variables; the parent's task run has the child's executionId, state and flow outputs).

The domain part only: what a call asks for, how the child's end becomes the task's state (Kestra's guessState),
and the registration checks. Starting and running the child needs the tables and the queue: the executor
hands the task runs a `SubflowStarter` (slots/subflows.py)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backfill_core.flows.execution import SUCCEEDED_STATES, ExecutionState
from backfill_core.flows.labels import Label, normalize_labels
from backfill_core.flows.task_spec import TaskSpec, walk
from backfill_core.flows.tasks.task_types import KillCheck, LogSink, TaskOutcome
from backfill_core.flows.templating import TemplateRenderError

SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
SUBFLOW_LEGACY = "io.kestra.core.tasks.flows.Subflow"
FLOW_LEGACY = "io.kestra.core.tasks.flows.Flow"  # Kestra keeps both older names as aliases of Subflow
SUBFLOW_TYPES = (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)
# A chain of subflows runs one inside another (wait) or one after another (no wait); either way a flow calling
# itself through other flows would never end, so the chain is cut here.
MAX_SUBFLOW_DEPTH = 10
# The child's end that a transmitFailed subflow passes on (Kestra: failed, paused, killed or warning).
TRANSMITTED = (ExecutionState.FAILED, ExecutionState.KILLED, ExecutionState.WARNING, ExecutionState.PAUSED)


@dataclass(frozen=True)
class SubflowCall:
    """One Subflow task attempt, its properties rendered: which flow, with what, and whether to wait."""

    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: list[Label]
    wait: bool
    transmit_failed: bool
    inherit_labels: bool
    task_id: str
    task_type: str
    # What makes this call one and only one child: the parent task, the ForEach values it runs for, its attempt.
    key: tuple[str, ...] = field(default=())


SubflowStarter = Callable[[SubflowCall, LogSink, KillCheck], TaskOutcome]
"""Starts (or finds again) the child of a call, runs or queues it, and says how the task ends."""


def call_of(task: TaskSpec, rendered: dict[str, Any], key: tuple[str, ...]) -> SubflowCall:
    """The call of one attempt, from the task's rendered properties (checked at registration, rendered since)."""
    namespace, flow_id = str(rendered["namespace"]).strip(), str(rendered["flowId"]).strip()
    if not namespace or not flow_id:
        raise TemplateRenderError("namespace and flowId must render to a flow's namespace and id")
    revision = rendered.get("revision")
    try:
        labels = normalize_labels(rendered.get("labels"))
    except ValueError as exc:
        raise TemplateRenderError(f"labels: {exc}") from exc
    if revision is not None and not str(revision).strip().isdigit():
        raise TemplateRenderError(f"revision: '{revision}' is not a revision number")
    return SubflowCall(
        namespace=namespace,
        flow_id=flow_id,
        revision=int(revision) if revision is not None else None,
        inputs=dict(rendered.get("inputs") or {}),
        labels=labels,
        wait=rendered.get("wait", True) is not False,
        transmit_failed=rendered.get("transmitFailed", True) is not False,
        inherit_labels=rendered.get("inheritLabels", False) is True,
        task_id=task.id,
        task_type=task.type,
        key=key,
    )


def result_of(child_id: str, child_state: str, child_outputs: dict[str, Any] | None, call: SubflowCall) -> TaskOutcome:
    """Kestra's outputs (executionId, state, the child flow's `outputs`) and state of the task once the child
    ended: the child's failure, kill or warning passed on when transmitFailed, else SUCCESS."""
    outputs: dict[str, Any] = {"executionId": child_id, "state": child_state}
    if child_outputs is not None:
        outputs["outputs"] = child_outputs
    passed_on = child_state if call.transmit_failed and child_state in TRANSMITTED else ExecutionState.SUCCESS
    return TaskOutcome(
        succeeded=passed_on in SUCCEEDED_STATES,
        outputs=outputs,
        killed=passed_on == ExecutionState.KILLED,
        warning=passed_on == ExecutionState.WARNING,
    )


def validate_subflow_task(props: dict[str, Any]) -> str | None:
    """The first problem with a Subflow's properties as `field: problem`, or None."""
    for name in ("namespace", "flowId"):
        if not isinstance(props.get(name), str) or not props[name].strip():
            return f"{name}: the {'namespace' if name == 'namespace' else 'id'} of the flow to run is required"
    revision = props.get("revision")
    if revision is not None and not (
        (isinstance(revision, int) and not isinstance(revision, bool) and revision >= 1)
        or (isinstance(revision, str) and "{{" in revision)
    ):
        return "revision: a revision number, 1 or more, is required"
    if not isinstance(props.get("inputs", {}), dict):
        return "inputs: a map of input ids to values is required"
    labels = props.get("labels")
    if labels is not None:
        try:
            normalize_labels(labels)
        except ValueError as exc:
            return f"labels: {exc}"
    for name in ("wait", "transmitFailed", "inheritLabels"):
        if name in props and not isinstance(props[name], bool):
            return f"{name}: true or false is required"
    return None


def literal_calls(lists: dict[str, list[TaskSpec]]) -> Iterator[tuple[str, str, str]]:
    """Every Subflow of the task tree whose namespace and flowId are written out (no expression), as
    (path, namespace, flowId): the calls known before anything runs."""
    for path, task, _ in walk(lists):
        if task.type in SUBFLOW_TYPES and not task.disabled:
            props = task.properties()
            namespace, flow_id = props.get("namespace"), props.get("flowId")
            if isinstance(namespace, str) and isinstance(flow_id, str) and "{{" not in namespace + flow_id:
                yield path, namespace.strip(), flow_id.strip()


def recursive_call(namespace: str, flow_id: str, lists: dict[str, list[TaskSpec]]) -> str | None:
    """Kestra's registration rule: a flow may not call itself as a subflow (`path: why`, or None)."""
    for path, called_namespace, called_id in literal_calls(lists):
        if (called_namespace, called_id) == (namespace, flow_id):
            return f"{path}.flowId: Recursive call to flow [{namespace}.{flow_id}]"
    return None
