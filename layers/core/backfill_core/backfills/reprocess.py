"""Which slots a backfill skips because they already ran: Kestra issue #13873's "do not replay successes".

`all` (Kestra's behaviour) runs every slot; `failed` skips a slot whose latest execution of the trigger,
live or backfill, succeeded; `missing` skips a slot that has any execution, running or finished.
"""

from dataclasses import dataclass

from backfill_core.flows.execution import SUCCEEDED_STATES


@dataclass(frozen=True)
class PriorExecution:
    """What the reprocess policy needs to know of an execution that already exists for a slot."""

    id: str
    state: str
    created: str  # storage key: sorts as the instants do
    backfill_id: str | None  # None for a live schedule run


def skip_reason(policy: str, prior: list[PriorExecution]) -> tuple[str, str] | None:
    """(reason, execution id) when the policy skips a slot with these earlier executions; None to run it."""
    if policy == "all" or not prior:
        return None
    latest = max(prior, key=lambda p: (p.created, p.id))
    origin = f"backfill {latest.backfill_id}" if latest.backfill_id else "the live schedule"
    if policy == "failed":
        if latest.state in SUCCEEDED_STATES:
            return f"ALREADY_SUCCEEDED: its latest execution ({origin}) ended {latest.state}", latest.id
        return None
    return f"ALREADY_EXECUTED: an execution of it ({origin}) exists, {latest.state}", latest.id
