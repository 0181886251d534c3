"""How a backfill's slots ended, as its executions tell it: every execution of a slot carries the slot, its backfill
and its state on the BySlot index, so the latest of them says how the slot ended, with no record of its own (one
write a slot fewer). Only a slot the reprocess policy skipped, which runs nothing, has a slot record."""

from dataclasses import dataclass
from datetime import datetime

from backfill_core.backfills.model import Backfill, BackfillSpec, SlotOutcome
from backfill_core.backfills.reprocess import PriorExecution
from backfill_core.ids import backfill_execution_id
from backfill_core.storage import executions_repository, executions_search, triggers_repository


@dataclass(frozen=True)
class SlotEnd:
    """How one slot ran last: its state (RUNNING while its latest execution has not ended), that execution, and
    for a skipped slot why."""

    state: str
    execution_id: str | None
    reason: str | None = None


def slot_ends(backfill: Backfill, first: datetime, last: datetime) -> dict[str, SlotEnd]:
    """The slots between two slots (inclusive) that ran or were skipped, by storage key."""
    ends = {key: SlotEnd(_state(run.state), run.id) for key, run in _latest_runs(backfill, first, last).items()}
    if backfill.skipped:
        for key, record in triggers_repository.slot_records(backfill.id, first, last).items():
            ends[key] = SlotEnd(record.state.value, record.execution_id, record.reason)
    return ends


def failed_slot_keys(spec: BackfillSpec, last_round: int, limit: int, besides: set[str]) -> list[str]:
    """Up to `limit` slots of the backfill whose latest execution failed, oldest first, as storage keys; those in
    `besides` are passed over. Its executions are read in slot order only until `limit` are found, so a retry of a
    long backfill costs what precedes its batch, not the whole range."""
    still: list[str] = []
    candidates: dict[str, PriorExecution] = {}
    runs = executions_repository.slot_executions(spec.trigger_key.pk, spec.start, spec.end, backfill_id=spec.id)
    for key, found in runs:
        latest = max(found, key=lambda run: run.created)
        if key not in besides and SlotOutcome.of_execution(latest.state) == SlotOutcome.FAILED:
            candidates[key] = latest
        if len(still) + len(candidates) >= limit:
            still += _still_failed(spec, last_round, candidates)
            candidates = {}
            if len(still) >= limit:
                break
    still += _still_failed(spec, last_round, candidates)
    return still[:limit]


def _still_failed(spec: BackfillSpec, last_round: int, failed: dict[str, PriorExecution]) -> list[str]:
    """The index may lag a write by a moment, so an execution of a later round it does not show yet is looked for
    by its id (derived from the round), read consistently: a slot whose later round exists is told by that one,
    never run again for a failure it has put right."""
    later: dict[str, tuple[str, int]] = {}  # a later round's execution id -> (slot, round)
    for key, run in failed.items():
        rounds = [backfill_execution_id(spec.id, key, r) for r in range(last_round + 1)]
        seen = rounds.index(run.id) if run.id in rounds else last_round
        later |= {rounds[r]: (key, r) for r in range(seen + 1, last_round + 1)}
    newest: dict[str, tuple[int, str]] = {}  # slot -> (round, state) of its newest execution the index missed
    for execution in executions_search.executions(list(later), consistent=True):
        key, round_ = later[execution.id]
        if newest.get(key, (-1, ""))[0] < round_:
            newest[key] = (round_, execution.state.current)
    return [
        key for key in failed if key not in newest or SlotOutcome.of_execution(newest[key][1]) == SlotOutcome.FAILED
    ]


def _latest_runs(spec: BackfillSpec, first: datetime, last: datetime) -> dict[str, PriorExecution]:
    found = executions_repository.prior_executions(spec.trigger_key.pk, first, last, backfill_id=spec.id)
    return {key: max(runs, key=lambda run: run.created) for key, runs in found.items()}


def _state(execution_state: str) -> str:
    outcome = SlotOutcome.of_execution(execution_state)
    return outcome.value if outcome else "RUNNING"
