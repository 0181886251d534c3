"""A flow's `concurrency`, as Kestra defines it: at most `limit` executions of the flow run at once, whatever
started them (here a live schedule slot or a backfill slot); past it, `behavior` says what becomes of a new
execution: QUEUE (the default) leaves it QUEUED until a running one ends, CANCEL ends it CANCELLED and FAIL ends
it FAILED, in both cases without running any task. An execution keeps its place until it ends.

A place is one of `limit` numbered places of the flow, each held by one execution until its lease ends. These
are the pure rules: which place an execution may take, given the holders read.
"""

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backfill_core.flows.execution import ExecutionState

FAILED_MESSAGE = "Flow is FAILED due to concurrency limit exceeded"  # Kestra's log line for FAIL
PLACES_TRIED = 3  # free places tried before the flow counts as full: others may be taking them at once

Holder = tuple[int, str, float]
"""(place number, id of the execution holding it, epoch seconds its lease ends)"""


class ConcurrencyBehavior(StrEnum):
    QUEUE = "QUEUE"
    CANCEL = "CANCEL"
    FAIL = "FAIL"


STATE_WHEN_FULL = {
    ConcurrencyBehavior.QUEUE: ExecutionState.QUEUED,
    ConcurrencyBehavior.CANCEL: ExecutionState.CANCELLED,
    ConcurrencyBehavior.FAIL: ExecutionState.FAILED,
}


class FlowConcurrency(BaseModel):
    """Kestra's Concurrency: `limit` at least 1 and required, `behavior` QUEUE unless given; nothing else."""

    model_config = ConfigDict(extra="forbid")
    limit: StrictInt = Field(ge=1)
    behavior: ConcurrencyBehavior = ConcurrencyBehavior.QUEUE


def places_to_try(holders: list[Holder], limit: int, execution_id: str, now_epoch: float) -> list[int]:
    """The places this execution may try to take, best first: its own place if it holds one (a redelivered
    message, a resumed attempt), else up to PLACES_TRIED free ones (never held, or whose lease ended), else
    none: `limit` live holders. Live holders on places above a lowered limit still count, so lowering the limit
    never lets more run at once than the new limit until they end."""
    own = [place for place, holder, _ in holders if holder == execution_id]
    if own:
        return own[:1]
    live = {place for place, _, lease_until in holders if lease_until >= now_epoch}
    if len(live) >= limit:
        return []
    return [place for place, _ in zip(_free(live, limit), range(PLACES_TRIED), strict=False)]


def _free(live: set[int], limit: int) -> Iterator[int]:
    """Places below the limit that no live holder has, in order (lazily: a limit may be large)."""
    return (place for place in range(limit) if place not in live)
