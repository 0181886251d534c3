"""The API's answers, one model per body: Kestra's schema names and fields where Kestra has the route (its
OpenAPI document in ../shared/kestra-openapi), our fields beside Kestra's, camelCase on the wire. Each route
declares its model, so the OpenAPI document describes every answer; kestra_json maps our records to them."""

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    computed_field,
    model_serializer,
)
from pydantic.alias_generators import to_camel

from backfill_core.backfills.model import Reprocess
from backfill_core.schedules.kestra_time import format_date, iso_duration, now, parse_instant
from backfill_core.schedules.order import SlotOrder
from backfill_core.schedules.run_window import RunWindow


def _kestra_date(value: Any) -> Any:
    return format_date(value) if isinstance(value, datetime) else value


# A date as Kestra writes it (kestra_time.format_date): ISO-8601 with its offset, `Z` for UTC, milliseconds when
# there are any. A datetime given is written so; a string is taken as already written.
KestraDate = Annotated[str, BeforeValidator(_kestra_date), WithJsonSchema({"type": "string", "format": "date-time"})]
BackfillDisplayStatus = Literal[
    "QUEUED", "RUNNING", "PAUSED", "WAITING_FOR_WINDOW", "CANCELLING", "SUCCEEDED", "FAILED", "CANCELLED"
]
SlotDisplayState = Literal["PENDING", "DISPATCHED", "RUNNING", "PARKED", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"]


class KestraAnswer(BaseModel):
    """camelCase on the wire; built from our records' attributes where the names agree. Each answer's validator is
    built on its first use (defer_build), so a cold start builds only those of the route it answers."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True, defer_build=True)


class NonNullAnswer(KestraAnswer):
    """As Kestra's API writes JSON (non-null fields only, its Jackson setting): Kestra's schemas have no null
    for what is unknown, e.g. an execution's outputs before its end or a task run's ForEach value."""

    # No return type: with one, pydantic would describe the answer by it rather than by its fields.
    @model_serializer(mode="wrap")
    def _nulls_left_out(self, handler: SerializerFunctionWrapHandler):
        return {key: value for key, value in handler(self).items() if value is not None}


Item = TypeVar("Item", bound=BaseModel)


class PagedResults(KestraAnswer, Generic[Item]):
    """Kestra's PagedResults_<Item>_: one page of the results, and how many there are in all."""

    results: list[Item]
    total: int


class Label(KestraAnswer):
    key: str
    value: str


class BulkResponse(KestraAnswer):
    """How many triggers' backfills the bulk action changed."""

    count: int


# Executions and their logs


class StateHistory(KestraAnswer):
    """Kestra's State.History."""

    state: str
    date: KestraDate


class State(NonNullAnswer):
    """Kestra's State. Kestra 2.0's document (and so kestrapy 2.x, which fails without them) also requires
    getDuration, getStartDate and getEndDate, which Kestra's server does not write: we write them too, counted
    to the moment of the answer while the run has not ended, as Kestra counts its duration."""

    current: str
    histories: list[StateHistory]
    start_date: KestraDate | None = None
    end_date: KestraDate | None = None
    duration: str | None = Field(default=None, description="ISO-8601, e.g. PT1.5S")

    @computed_field(alias="getStartDate")  # type: ignore[prop-decorator]
    @property
    def get_start_date(self) -> KestraDate:
        return self.start_date or (self.histories[0].date if self.histories else format_date(now()))

    @computed_field(alias="getEndDate")  # type: ignore[prop-decorator]
    @property
    def get_end_date(self) -> KestraDate:
        return self.end_date or format_date(now())

    @computed_field(alias="getDuration")  # type: ignore[prop-decorator]
    @property
    def get_duration(self) -> str:
        return self.duration or iso_duration(parse_instant(self.get_end_date) - parse_instant(self.get_start_date))


class TaskRunAttempt(KestraAnswer):
    state: State


class TaskRun(NonNullAnswer):
    id: str
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    parent_task_run_id: str | None = Field(default=None, description="the flowable task run it runs inside")
    value: str | None = Field(default=None, description="the ForEach value it runs for")
    iteration: int | None = Field(default=None, description="that value's index in the ForEach's values")
    attempts: list[TaskRunAttempt]
    outputs: dict[str, Any]
    state: State


class ExecutionTrigger(KestraAnswer):
    id: str
    type: str
    variables: dict[str, Any]


class Execution(NonNullAnswer):
    """Kestra's Execution; ours beside it: its backfill, its slot and its attempt count."""

    id: str
    tenant_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    labels: list[Label]
    inputs: dict[str, Any]
    trigger: ExecutionTrigger | None = Field(default=None, description="none for a run by hand")
    state: State
    task_run_list: list[TaskRun]
    outputs: dict[str, Any] | None = Field(default=None, description="the flow's outputs, once its tasks are done")
    original_id: str = Field(description="the execution it was made from: a replay's original, else itself")
    metadata: dict[str, Any] = Field(description="Kestra's ExecutionMetadata: attemptNumber, originalCreatedDate")
    backfill_id: str | None = None
    scheduled_date: KestraDate = Field(description="ours: the slot it runs")
    attempt: int = Field(description="ours: how many times an executor took it up")
    deleted: bool


class LogEntry(NonNullAnswer):
    tenant_id: str
    namespace: str
    flow_id: str
    task_id: str | None = None
    execution_id: str | None = None
    task_run_id: str | None = None
    attempt_number: int | None = None
    trigger_id: str | None = None
    timestamp: KestraDate
    level: str
    message: str


class LogPage(PagedResults[LogEntry]):
    """Kestra 2.0's CursorOrOffsetPagedResults_LogEntry_ (1.x's PagedResults_LogEntry_): a page by offset."""

    type: Literal["OFFSET"] = Field(default="OFFSET", description="Kestra 2.0: pages are found by page and size")


# Backfills and triggers


class BackfillCounts(BaseModel):
    """Slots by state, adding up to the total: what waits, what is in flight, and what ended."""

    pending: int = Field(alias="PENDING")
    dispatched: int = Field(alias="DISPATCHED")
    running: int = Field(alias="RUNNING")
    parked: int = Field(alias="PARKED")
    succeeded: int = Field(alias="SUCCEEDED")
    failed: int = Field(alias="FAILED")
    skipped: int = Field(alias="SKIPPED")
    cancelled: int = Field(alias="CANCELLED")


class Backfill(KestraAnswer):
    """Kestra's Backfill (start to previousNextExecutionDate); ours beside it: its id, status, policies,
    counts and progress."""

    start: KestraDate
    end: KestraDate
    current_date: KestraDate = Field(description="the next slot to run; `end` once every slot is dispatched")
    paused: bool
    inputs: dict[str, Any]
    labels: list[Label]
    previous_next_execution_date: KestraDate | None
    id: str
    status: BackfillDisplayStatus
    pause_reason: str | None = Field(description="why it paused itself (maxFailures); null when a person paused it")
    concurrency: int
    max_slots_per_minute: int | None = Field(description="the rate limit: slots dispatched in any 60 s at most")
    run_window: RunWindow | None = Field(description="when its slots may start (its zone filled in)")
    live_first: bool = Field(description="held while a slot of its trigger's live schedule starts")
    yielding_to_live: bool = Field(description="held now, for a live slot of its trigger that is starting")
    forecast_seconds: float | None = Field(description="the dry run's forecast when it was created; null: unknown")
    forecast_basis: str | None = Field(description="what that forecast was worked out from")
    forecast_cost_usd: float | None = Field(description="the AWS cost forecast when it was created, in US dollars")
    next_window_opening: KestraDate | None = Field(
        description="while WAITING_FOR_WINDOW, when its run window opens next (it carries on by itself then)"
    )
    order: SlotOrder
    reprocess: Reprocess
    max_failures: int | None
    dispatched: int
    running: int
    trigger_disabled: bool
    succeeded: int
    failed: int
    skipped: int
    cancelled: int
    counts: BackfillCounts
    total: int
    percent: float
    slots_per_minute: float
    eta_date: KestraDate | None


class TriggerIdentity(KestraAnswer):
    namespace: str
    flow_id: str
    trigger_id: str


class BackfillResource(Backfill, TriggerIdentity):
    """Our /backfills resource: the trigger it replays, Kestra's backfill fields and ours, its schedule and
    history."""

    cron: str
    timezone: str
    created: KestraDate
    created_by: str | None
    updated: KestraDate


class Trigger(KestraAnswer):
    """Kestra's Trigger (the trigger's context): `date` is the last slot the live schedule evaluated,
    `nextExecutionDate` the next; `backfill` is the newest running backfill."""

    tenant_id: str
    namespace: str
    flow_id: str
    trigger_id: str
    date: KestraDate | None
    next_execution_date: KestraDate | None
    backfill: Backfill | None
    execution_id: str | None
    updated_date: KestraDate | None
    evaluate_running_date: KestraDate | None
    worker_id: str | None
    stop_after: list[str] | None
    disabled: bool


class RetryFailedResult(KestraAnswer):
    retried: int = Field(description="how many failed slots run again")
    backfill: BackfillResource


class Slot(KestraAnswer):
    """One slot of a backfill: its state and its latest execution; when skipped, why."""

    date: KestraDate
    state: SlotDisplayState
    execution_id: str | None
    reason: str | None
