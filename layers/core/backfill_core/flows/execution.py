"""An execution of a flow, as stored: Kestra's Execution fields, plus where it came from and its attempt count."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from backfill_core.flows.labels import CORRELATION_LABEL, Label
from backfill_core.kestra_model import KestraModel


class ExecutionState(StrEnum):
    """Kestra's states of an execution and of a task run (all of them: a search may name any)."""

    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"  # Kestra's; never given here
    RESTARTED = "RESTARTED"  # a restart came: it runs again from its failed task
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"  # a task run waiting for its next attempt
    PAUSED = "PAUSED"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLING = "KILLING"  # a kill came; the running task is being stopped
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"  # a task run whose runIf rendered false
    RETRIED = "RETRIED"  # Kestra's; never given here (as BREAKPOINT and RESUBMITTED)
    BREAKPOINT = "BREAKPOINT"
    RESUBMITTED = "RESUBMITTED"


ENDED_STATES = (
    ExecutionState.SUCCESS,
    ExecutionState.FAILED,
    ExecutionState.WARNING,
    ExecutionState.KILLED,
    ExecutionState.CANCELLED,
    ExecutionState.SKIPPED,
)
SUCCEEDED_STATES = (ExecutionState.SUCCESS, ExecutionState.WARNING)
# The kinds of run whose inputs and labels an API caller gave: data, checked before any script renders them.
CALLERS_KINDS = ("backfill", "manual")


class StateHistory(KestraModel):
    state: str
    date: datetime


class State(KestraModel):
    current: str
    histories: list[StateHistory] = []
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: str | None = None


class TaskRunAttempt(KestraModel):
    state: State


class TaskRun(KestraModel):
    id: str
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    parent_task_run_id: str | None = None  # the flowable task run it runs inside
    value: str | None = None  # the ForEach value it runs for
    iteration: int | None = None  # that value's index in the ForEach's values, from 0
    attempts: list[TaskRunAttempt] = []
    outputs: dict[str, Any] = {}
    state: State


class ExecutionTrigger(KestraModel):
    id: str
    type: str
    variables: dict[str, Any]


class Execution(KestraModel):
    """Kestra's Execution JSON, plus where it came from (backfill id, slot) and its attempt count."""

    id: str
    tenant_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    labels: list[Label] = []
    inputs: dict[str, Any] = {}
    trigger: ExecutionTrigger | None = None  # none for a run started by hand, as in Kestra
    state: State
    task_run_list: list[TaskRun] = []
    outputs: dict[str, Any] | None = None  # the flow's `outputs`, evaluated once its tasks are done
    # a backfill's replay, a live run, a child, a run started by hand (POST /executions/{namespace}/{id}, a restart
    # or a replay)
    kind: Literal["backfill", "schedule", "subflow", "manual"] = "backfill"
    original_id: str | None = None  # a replay's: the execution it replays
    kept_task_runs: list[TaskRun] = []  # a restart's: the task runs before its failed one, not run again
    restarted_at_attempt: int = 0  # the attempt count when it was last restarted: its attempts count from there
    backfill_id: str | None = None
    scheduled_date: datetime
    attempt: int = 0
    lease_until: float = Field(default=0.0, exclude=True)  # kept as its own attribute, for conditions
    kill_requested: bool = Field(default=False, exclude=True)  # its own attribute: someone asked to kill it
    # Its first log lines, kept on its record (storage/execution_logs.py): (key, LogEntry less the shared fields)
    log_lines: list[tuple[str, dict[str, Any]]] = Field(default=[], exclude=True)
    # Set while it waits for the queue message that was sent after it was written (a run by hand, a replay, a
    # restart, a Subflow's child its parent does not wait for): an executor should have taken it by then.
    message_due: datetime | None = None
    deleted: bool = False

    @model_validator(mode="after")
    def _correlated(self) -> "Execution":
        """Every execution carries Kestra's `system.correlationId`: its own id, unless it was given one (a
        Subflow's child gets its parent's, a replay its original's, a caller may set it)."""
        if not any(label.key == CORRELATION_LABEL for label in self.labels):
            self.labels = [*self.labels, Label(key=CORRELATION_LABEL, value=self.id)]
        return self
