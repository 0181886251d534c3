"""The dry run's answer: what the backfill would run and skip, and its forecast of time and cost."""

from typing import Any

from pydantic import Field

from backfill_core.backfills.model import Reprocess
from backfill_core.kestra_api.responses import KestraAnswer, KestraDate, TriggerIdentity
from backfill_core.schedules.order import SlotOrder


class SkippedSlot(KestraAnswer):
    date: KestraDate
    reason: str
    execution_id: str | None


class CostLine(KestraAnswer):
    item: str
    quantity: float
    unit: str
    unit_price_usd: float
    usd: float
    arithmetic: str = Field(description="how the line is worked out, e.g. `1,000 slots x 7.2 units = ...`")


class Forecast(KestraAnswer):
    """How long the backfill should take and what it should cost, and what each is worked out from."""

    seconds: float | None = Field(description="from the start to the last slot's end, waits included; null: unknown")
    duration: str | None = Field(description="`seconds` as an ISO 8601 duration")
    end_date: KestraDate | None = Field(description="when it should end if started now")
    basis: str = Field(description="what the time per slot comes from, or why it is unknown")
    slot_seconds: float | None = Field(description="one slot, as one lane of the window runs them in turn")
    rate_limit_effect: str | None
    window_effect: str | None
    cost_usd: float = Field(description="the sum of the cost lines, in US dollars")
    cost: list[CostLine]
    prices: str = Field(description="where the prices and the per-slot figures come from")


class DryRunResult(TriggerIdentity):
    """What the backfill would run and skip, and the first and last pages of the slots it would run."""

    start: KestraDate
    end: KestraDate
    order: SlotOrder
    reprocess: Reprocess
    concurrency: int
    inputs: dict[str, Any]
    total: int
    run: int
    skipped: int
    first_page: list[KestraDate]
    last_page: list[KestraDate]
    skipped_page: list[SkippedSlot]
    forecast: Forecast
