"""Trigger answers that Kestra 1.x's and 2.0's clients both read. The two name the same facts differently
(1.x's Trigger: `date`, `updatedDate`, `nextExecutionDate`; 2.0's ApiTriggerState: `evaluatedAt`, `updatedAt`,
`nextEvaluationDate`), and neither closes its objects, so one body carries both names."""

from typing import Any, Literal

from pydantic import Field

from backfill_core.kestra_api.responses import (
    Backfill,
    BulkResponse,
    KestraAnswer,
    KestraDate,
    NonNullAnswer,
    PagedResults,
    Trigger,
)


class TriggerContext(Trigger, NonNullAnswer):
    """Kestra 1.x's Trigger and 2.0's ApiTriggerState in one body. `locked` is always false: the scheduler
    evaluates a trigger within one tick, by conditional writes, and holds no lock on it between ticks."""

    # Left out when there is none (NonNullAnswer): optional, not null.
    date: KestraDate | None = None
    next_execution_date: KestraDate | None = None
    backfill: Backfill | None = None
    execution_id: str | None = None
    updated_date: KestraDate | None = None
    evaluate_running_date: KestraDate | None = None
    worker_id: str | None = None
    stop_after: list[str] | None = None
    updated_at: KestraDate = Field(description="2.0's name for updatedDate")
    evaluated_at: KestraDate | None = Field(
        default=None, description="2.0: the last slot the live schedule evaluated; absent before its first"
    )
    next_evaluation_date: KestraDate | None = Field(default=None, description="2.0's name for nextExecutionDate")
    locked: bool = False
    kind: Literal["SCHEDULE", "POLLING", "REALTIME"] | None = Field(
        default=None, description="SCHEDULE for a Schedule trigger; absent for the others"
    )


class TriggerEntry(KestraAnswer):
    """A trigger search's entry: 1.x's TriggerController.Triggers (abstractTrigger, triggerContext) and 2.0's
    ApiTriggerAndState (trigger, state), the same two objects under both names."""

    abstract_trigger: dict[str, Any]
    trigger_context: TriggerContext
    trigger: dict[str, Any]
    state: TriggerContext


class BulkAnswer(BulkResponse):
    """A bulk action's count (1.x's BulkResponse), under 2.0's name too (ApiAsyncOperationResponse): the action is
    done when the answer comes, so there is no operation to follow."""

    total_items: int = Field(description="2.0's name for count")


TriggerContexts = PagedResults[TriggerContext]
TriggerEntries = PagedResults[TriggerEntry]
