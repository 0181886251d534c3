"""Request bodies of Kestra's trigger API, validated at the boundary."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .kestra_time import supported
from .models import Label, Reprocess
from .settings import settings

LABELS_SHAPE = "labels must be a list of {key, value} objects or a map of key to value"


def normalize_labels(value: Any) -> list[Label]:
    """Kestra takes labels as a list of {key, value}; a {key: value} map is accepted too."""
    if value is None:
        return []
    if isinstance(value, dict):
        items = [{"key": k, "value": v} for k, v in value.items()]
    elif isinstance(value, list) and all(isinstance(i, dict) for i in value):
        items = value
    else:
        raise ValueError(LABELS_SHAPE)
    limit = settings().max_labels
    if len(items) > limit:
        raise ValueError(f"at most {limit} labels are allowed (BACKFILL_MAX_LABELS), got {len(items)}")
    labels = []
    for item in items:
        if set(item) - {"key", "value"} or not isinstance(item.get("key"), str) or not item["key"]:
            raise ValueError(LABELS_SHAPE)
        raw = item.get("value")
        if isinstance(raw, dict | list) or raw is None:
            raise ValueError(f"label '{item['key']}' needs a string value")
        labels.append(Label(key=item["key"], value=str(raw).lower() if isinstance(raw, bool) else str(raw)))
    return labels


class BackfillRequest(BaseModel):
    """Kestra's backfill object; `concurrency`, `order`, `reprocess` and `maxFailures` are ours, ignored
    by Kestra's clients."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    start: datetime
    end: datetime | None = None
    inputs: dict[str, Any] | None = None
    labels: list[Label] = Field(default_factory=list)
    concurrency: int | None = Field(default=None, ge=1)
    order: Literal["oldest_first", "newest_first"] = "oldest_first"
    reprocess: Reprocess = "all"
    max_failures: int | None = Field(default=None, ge=1, alias="maxFailures")

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

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    namespace: str = Field(min_length=1)
    flow_id: str = Field(min_length=1, alias="flowId")
    trigger_id: str = Field(min_length=1, alias="triggerId")


class BackfillDelete(TriggerRef):
    """Kestra's backfill delete body; `kill` (ours) kills the running executions rather than let them end."""

    kill: bool = False


class BackfillCancel(BaseModel):
    """POST /api/v1/backfills/{id}/cancel, whose body is optional."""

    model_config = ConfigDict(extra="forbid")
    kill: bool = False


class TriggerUpdate(TriggerRef):
    """Kestra's PUT /triggers body: the trigger, with the backfill to create and/or its disabled flag."""

    backfill: BackfillRequest | None = None
    disabled: bool | None = None


class DryRun(TriggerRef):
    """POST /api/v1/backfills/dry-run: the trigger and the backfill to try, which is required here."""

    backfill: BackfillRequest


class BackfillChange(BaseModel):
    """PATCH /api/v1/backfills/{id}: what may change while a backfill runs."""

    model_config = ConfigDict(extra="forbid")
    concurrency: int | None = Field(default=None, ge=1)
    paused: bool | None = Field(default=None, description="true pauses this backfill only; false resumes it")

    @model_validator(mode="after")
    def _something_changes(self) -> "BackfillChange":
        if self.concurrency is None and self.paused is None:
            raise ValueError("give concurrency, paused or both")
        return self


class ErrorMessage(BaseModel):
    """Every error answer: what went wrong, naming the field when a field is at fault."""

    message: str
