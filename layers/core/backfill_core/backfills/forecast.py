"""A dry run's forecast: how long the backfill should take at the concurrency and rate limit asked for, when its
run window lets it end, and what it should cost on AWS, each with what it was worked out from.

Time comes from the trigger's own history: the pace per lane of its last backfill that ran unhindered (no rate
limit, no run window), which holds everything a slot costs on this stack; else the mean duration of the flow's
latest finished executions plus the engine's own time per slot; else it is unknown, and said so. Cost is the
per-slot figures bench.aws_like measures, at AWS list prices."""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backfill_core.backfills.model import Backfill
from backfill_core.flows.execution import ENDED_STATES
from backfill_core.schedules.kestra_time import iso_duration
from backfill_core.schedules.run_window import RunWindow
from backfill_core.settings import settings
from backfill_core.storage import executions_search, triggers_repository
from backfill_core.triggers.model import TriggerKey

RECENT_EXECUTIONS = 100  # the flow's latest finished executions whose mean duration times a slot
LEAST_PACED_SLOTS = 5  # a backfill that ran fewer slots says too little of the pace

# What one slot costs, by bench.aws_like (2026-12-02, a no-op flow, concurrency 1 to 50): DynamoDB write request
# units (items and their index entries), read units, SQS requests (the send, Lambda's receive and delete), executor
# invocations (one message each), and the executor's own seconds around the flow.
WRITE_UNITS_PER_SLOT = 7.2
READ_UNITS_PER_SLOT = 0.1
SQS_REQUESTS_PER_SLOT = 3
INVOCATIONS_PER_SLOT = 1
ENGINE_SECONDS_PER_SLOT = 0.06

# List prices, us-east-1, on-demand, as AWS has charged them since 1 November 2024 (DynamoDB's on-demand prices
# halved then, from $1.25 and $0.25).
DYNAMODB_WRITE_PER_MILLION = 0.625  # per million write request units
DYNAMODB_READ_PER_MILLION = 0.125  # per million read request units
SQS_PER_MILLION = 0.40  # per million requests, each 64 KB chunk one request (standard queue)
LAMBDA_PER_MILLION = 0.20  # per million invocations
LAMBDA_GB_SECOND = 0.0000166667  # x86_64, per GB-second of duration
PRICES = (
    "AWS list prices, us-east-1, on-demand, since 1 November 2024; no free tier; per-slot calls and units measured "
    "by bench.aws_like; a flow's log lines and outputs add write units by their size"
)


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: float
    unit: str
    unit_price_usd: float
    usd: float
    arithmetic: str


@dataclass(frozen=True)
class Forecast:
    seconds: float | None  # from the start to the last slot's end, the run window's waits included; None: unknown
    end_date: datetime | None
    basis: str
    slot_seconds: float | None  # one slot, as a lane runs them one after another
    rate_limit_effect: str | None
    window_effect: str | None
    cost: list[CostLine] = field(default_factory=list)

    @property
    def duration(self) -> str | None:
        return iso_duration(timedelta(seconds=round(self.seconds))) if self.seconds is not None else None

    @property
    def cost_usd(self) -> float:
        return sum(line.usd for line in self.cost)

    @property
    def prices(self) -> str:
        return PRICES


def forecast(
    key: TriggerKey,
    run: int,
    concurrency: int,
    rate: int | None,
    window: RunWindow | None,
    at: datetime,
) -> Forecast:
    paced = _pace_of(key)
    slot_seconds, basis = paced if paced else (None, "")
    if slot_seconds is None:
        slot_seconds, basis = _mean_duration(key)
    busy = slot_seconds * math.ceil(run / concurrency) if slot_seconds is not None and run else None
    rate_effect = None
    if rate and run:
        limited = (run - 1) * 60 / rate + (slot_seconds or 0)
        if busy is None or limited > busy:
            rate_effect = f"the rate limit of {rate:,} a minute sets the pace: {_human(limited)} for {run:,} slots"
            busy = limited if busy is not None else None
        else:
            rate_effect = f"the rate limit of {rate:,} a minute is above this pace: it does not slow the backfill"
    seconds, end, window_effect = busy, (at + timedelta(seconds=busy) if busy is not None else None), None
    if window is not None and busy is not None:
        end = window.finish_after(at, busy)
        seconds = (end - at).total_seconds()
        window_effect = (
            f"slots start only in its run window ({window.opens} to {window.closes} {window.timezone}): it ends "
            f"{_human(seconds)} from now rather than {_human(busy)}"
        )
    return Forecast(seconds, end, basis, slot_seconds, rate_effect, window_effect, _cost(run, slot_seconds))


def _pace_of(key: TriggerKey) -> tuple[float, str] | None:
    """Seconds per slot per lane of the trigger's last backfill that ended unhindered."""
    for done in triggers_repository.backfills_of_trigger(key):
        if not _unhindered(done):
            continue
        ran = done.succeeded + done.failed
        took = (done.updated - done.created).total_seconds()
        per_slot = took * max(1, min(done.concurrency, ran)) / ran
        return per_slot, (
            f"this trigger's last backfill ({done.id}) ran {ran:,} slots in {_human(took)} at concurrency "
            f"{done.concurrency}: {per_slot:.2f} s a slot per lane"
        )
    return None


def _unhindered(backfill: Backfill) -> bool:
    return (
        backfill.settled
        and backfill.succeeded + backfill.failed >= LEAST_PACED_SLOTS
        and backfill.max_slots_per_minute is None
        and backfill.run_window is None
    )


def _mean_duration(key: TriggerKey) -> tuple[float | None, str]:
    prefix = executions_search.flow_prefix(key.namespace, key.flow_id)
    keys = executions_search.flow_keys(key.tenant, prefix, prefix + executions_search.LAST, True, RECENT_EXECUTIONS)
    ids = [found.id for _, found in zip(range(RECENT_EXECUTIONS), keys, strict=False)]
    durations = [
        (e.state.end_date - e.state.start_date).total_seconds()
        for e in executions_search.executions(ids, ENDED_STATES)
        if e.state.start_date and e.state.end_date
    ]
    if not durations:
        return None, "unknown: nothing of this flow has finished yet to time a slot by"
    mean = sum(durations) / len(durations)
    return mean + ENGINE_SECONDS_PER_SLOT, (
        f"the mean duration of this flow's last {len(durations)} finished executions, {mean:.2f} s, and the "
        f"engine's {ENGINE_SECONDS_PER_SLOT} s a slot"
    )


def _cost(run: int, slot_seconds: float | None) -> list[CostLine]:
    """Each line priced; without a time per slot, Lambda's duration counts the engine's own seconds only."""
    memory_gb = settings().function_memory_mb / 1024
    timed = slot_seconds if slot_seconds is not None else ENGINE_SECONDS_PER_SLOT
    gb_seconds = run * timed * memory_gb

    def line(item: str, quantity: float, unit: str, per_million: float, per: str) -> CostLine:
        usd = quantity * per_million / 1e6
        arithmetic = f"{per} = {quantity:,.1f} {unit} x ${per_million:g} per million = ${usd:.6f}"
        return CostLine(item, quantity, unit, per_million / 1e6, usd, arithmetic)

    return [
        line(
            "DynamoDB writes",
            run * WRITE_UNITS_PER_SLOT,
            "write request units",
            DYNAMODB_WRITE_PER_MILLION,
            f"{run:,} slots x {WRITE_UNITS_PER_SLOT} units",
        ),
        line(
            "DynamoDB reads",
            run * READ_UNITS_PER_SLOT,
            "read request units",
            DYNAMODB_READ_PER_MILLION,
            f"{run:,} slots x {READ_UNITS_PER_SLOT} units",
        ),
        line(
            "SQS",
            run * SQS_REQUESTS_PER_SLOT,
            "requests",
            SQS_PER_MILLION,
            f"{run:,} slots x {SQS_REQUESTS_PER_SLOT} requests",
        ),
        line(
            "Lambda requests",
            run * INVOCATIONS_PER_SLOT,
            "invocations",
            LAMBDA_PER_MILLION,
            f"{run:,} slots x {INVOCATIONS_PER_SLOT} invocation",
        ),
        line(
            "Lambda duration"
            if slot_seconds is not None
            else "Lambda duration, the engine's share (the flow's unknown)",
            gb_seconds,
            "GB-seconds",
            LAMBDA_GB_SECOND * 1e6,
            f"{run:,} slots x {timed:.2f} s x {memory_gb:g} GB",
        ),
    ]


def _human(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (rest // 60, "min")) if n)
