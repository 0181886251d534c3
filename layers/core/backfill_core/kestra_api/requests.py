"""Request bodies of Kestra's trigger API, validated at the boundary. Each model's validator is built on its first
use (defer_build): the executor and the scheduler import these models for their types, and build none at import."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backfill_core.backfills.model import Reprocess
from backfill_core.backfills.progress import RateLimit
from backfill_core.flows.labels import Label, normalize_labels
from backfill_core.ids import MAX_FLOW_ID, MAX_ID, MAX_NAMESPACE
from backfill_core.schedules.kestra_time import supported
from backfill_core.schedules.order import SlotOrder
from backfill_core.schedules.run_window import RunWindow
from backfill_core.triggers.model import TriggerKey

# Kestra's integers are Java's int: larger numbers mean nothing to any field, and are refused unconverted.
MAX_INT = 2**31 - 1


# Ids in requests, at Kestra's lengths: an id of the right length that names nothing is a 404.
Namespace = Annotated[str, Field(min_length=1, max_length=MAX_NAMESPACE)]
FlowId = Annotated[str, Field(min_length=1, max_length=MAX_FLOW_ID)]
TriggerId = Annotated[str, Field(min_length=1, max_length=MAX_ID)]


class BackfillRequest(BaseModel):
    """Kestra's backfill object; `concurrency`, `order`, `reprocess`, `maxFailures`, `maxSlotsPerMinute` and
    `runWindow` are ours, ignored by Kestra's clients. Any other field is refused (a misspelt `concurency` answered
    200 would run the backfill as it was not asked)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    start: datetime
    end: datetime | None = None
    # Kestra's own fields that a client may send back from a Backfill it read; the server sets them, as Kestra's.
    current_date: datetime | None = Field(default=None, alias="currentDate", description="set by the server")
    paused: bool | None = Field(default=None, description="set by the server: a backfill starts unpaused")
    previous_next_execution_date: datetime | None = Field(
        default=None, alias="previousNextExecutionDate", description="set by the server"
    )
    inputs: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Values for the flow's inputs, taken as data: never rendered as templates (Kestra renders them). "
            "Shell warning: a value holding shell syntax (quotes, `, $, \\, ;, &, |, <, >, parentheses, line "
            "breaks) is refused with a 422 when the flow renders `inputs` into a Commands script; pass such "
            "values through the task's `env`."
        ),
    )
    labels: list[Label] = Field(
        default_factory=list,
        description=(
            "Labels of every execution of the backfill. Shell warning: Kestra pastes `{{ labels.x }}` into a "
            "Commands script as it is, so a label holding shell syntax is refused with a 422 when the flow renders "
            "`labels` into one; pass such values through the task's `env`."
        ),
    )
    concurrency: int | None = Field(default=None, ge=1, le=MAX_INT)
    order: SlotOrder = SlotOrder.OLDEST_FIRST
    reprocess: Reprocess = "all"
    max_failures: int | None = Field(default=None, ge=1, le=MAX_INT, alias="maxFailures")
    max_slots_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT,
        alias="maxSlotsPerMinute",
        description=(
            "A rate limit: the backfill's slots are dispatched (sent to the executors, and started no earlier) at "
            "most this many in any 60 seconds, whatever the concurrency; null: no limit. Changeable while it runs "
            "(PATCH /api/v1/backfills/{id})."
        ),
    )

    run_window: RunWindow | None = Field(
        default=None,
        alias="runWindow",
        description=(
            'When slots may start: {"from": "01:00", "to": "06:00", "days": ["MONDAY", ...], '
            '"timezone": "Europe/Paris"}, local times in `timezone` (the trigger\'s when left out), every day when '
            "`days` is left out; a `to` not after `from` runs overnight. Outside it the backfill holds "
            "(WAITING_FOR_WINDOW, with `nextWindowOpening`) and carries on by itself once it opens; a slot already "
            "running when it closes finishes."
        ),
    )

    live_first: bool = Field(
        default=True,
        alias="liveFirst",
        description=(
            "When a slot of the trigger's live schedule is due, the backfill holds until it has started, so that "
            "the live run meets free executors and places under the flow's concurrency limit; false lets the "
            "backfill compete with it."
        ),
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> list[Label]:
        return normalize_labels(value)

    @field_validator("start", "end")
    @classmethod
    def _supported_date(cls, value: datetime | None) -> datetime | None:
        return value if value is None else supported(value)


class TriggerRef(BaseModel):
    """The body of pause, unpause and delete: which trigger's backfill."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)
    namespace: Namespace
    flow_id: FlowId = Field(alias="flowId")
    trigger_id: TriggerId = Field(alias="triggerId")

    def trigger_key(self, tenant: str) -> TriggerKey:
        return TriggerKey(tenant, self.namespace, self.flow_id, self.trigger_id)


class BackfillDelete(TriggerRef):
    """Kestra's backfill delete body; `kill` (ours) kills the running executions rather than let them end."""

    kill: bool = False


class BackfillCancel(BaseModel):
    """POST /api/v1/backfills/{id}/cancel, whose body is optional."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    kill: bool = False


class TriggerUpdate(TriggerRef):
    """Kestra's PUT /triggers body: the trigger, with the backfill to create and/or its disabled flag."""

    backfill: BackfillRequest | None = None
    disabled: bool | None = None


class BackfillCreate(TriggerRef):
    """Kestra 2.0's PUT /triggers/backfill/create body (ApiCreateBackfillRequest): the trigger and its backfill."""

    backfill: BackfillRequest


class TriggerDisable(TriggerRef):
    """Kestra 2.0's PUT /triggers/set-disabled body (ApiDisableTriggerRequest)."""

    disabled: bool


class TriggersDisable(BaseModel):
    """Kestra's POST /triggers/set-disabled/by-triggers body (SetDisabledRequest)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    triggers: list[TriggerRef] = Field(min_length=1)
    disabled: bool


class QueryFiltersBody(BaseModel):
    """Kestra's DELETE /triggers/delete/by-query body: its filters, which the query's filters[...] hook reads."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    filters: list[dict[str, Any]] = []


class DryRun(TriggerRef):
    """POST /api/v1/backfills/dry-run: the trigger and the backfill to try, which is required here."""

    backfill: BackfillRequest


class BackfillChange(BaseModel):
    """PATCH /api/v1/backfills/{id}: what may change while a backfill runs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    concurrency: int | None = Field(default=None, ge=1, le=MAX_INT)
    paused: bool | None = Field(default=None, description="true pauses this backfill only; false resumes it")
    max_slots_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT,
        alias="maxSlotsPerMinute",
        description="a new rate limit, from the next slot dispatched on; null removes the limit",
    )

    @model_validator(mode="after")
    def _something_changes(self) -> "BackfillChange":
        if self.concurrency is None and self.paused is None and "max_slots_per_minute" not in self.model_fields_set:
            raise ValueError("give concurrency, paused, maxSlotsPerMinute or several")
        return self

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit to set, when the body names one (null: none)."""
        if "max_slots_per_minute" not in self.model_fields_set:
            return None
        return RateLimit(self.max_slots_per_minute)


class Link(BaseModel):
    model_config = ConfigDict(defer_build=True)
    href: str
    templated: bool = False


class ErrorLinks(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, defer_build=True)
    self_: Link = Field(alias="self", description="the request refused")


class ErrorMessage(BaseModel):
    """Every error answer: what went wrong, naming the field when a field is at fault; and, as Kestra's errors
    (Micronaut's JsonError) carry it, `_links.self`: the request it answers."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, defer_build=True)
    message: str
    links: ErrorLinks = Field(alias="_links")

    @classmethod
    def about(cls, text: str, request: str) -> str:
        """The answer's JSON, for a request's path and query."""
        return cls(message=text, links=ErrorLinks(self=Link(href=request))).model_dump_json()
