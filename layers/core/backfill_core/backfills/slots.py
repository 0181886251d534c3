"""A backfill slot's life on its backfill's record, as the executor moves it: claimed, finished, or given back."""

from datetime import datetime

from backfill_core.backfills import state_machine
from backfill_core.backfills.changes import change
from backfill_core.backfills.model import Backfill, SlotOutcome, SlotRecord
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import triggers_repository
from backfill_core.triggers.model import TriggerKey


def claim_slot(message: SlotMessage) -> tuple[Backfill | None, state_machine.Claim]:
    key, backfill_id = _backfill_of(message)
    decision = state_machine.Claim.DROP

    def transition(b: Backfill, at: datetime):
        nonlocal decision
        b, decision = state_machine.claim(b, message.date, at, message.round)
        return b, []

    backfill = change(key, backfill_id, transition)
    return backfill, decision if backfill else state_machine.Claim.DROP


def end_slot(message: SlotMessage, outcome: SlotOutcome, execution_id: str | None, round_: int, reason=None) -> None:
    """Record how the slot ended (rewritten identically by a redelivery), then count it on the backfill, which
    dispatches the next."""
    triggers_repository.record_slot(
        SlotRecord(
            backfill_id=_backfill_of(message)[1],
            date=message.date,
            state=outcome,
            execution_id=execution_id,
            reason=reason,
            round=round_,
        )
    )
    finish_slot(message, outcome)


def finish_slot(message: SlotMessage, outcome: SlotOutcome) -> Backfill | None:
    key, backfill_id = _backfill_of(message)
    return change(key, backfill_id, lambda b, at: state_machine.finish(b, message.date, outcome, at, message.round))


def release_slot(message: SlotMessage) -> Backfill | None:
    """Give back a claimed slot whose execution never started: parked if paused, cancelled if cancelled."""
    key, backfill_id = _backfill_of(message)
    return change(key, backfill_id, lambda b, at: (state_machine.release(b, message.date, at, message.round), []))


def _backfill_of(message: SlotMessage) -> tuple[TriggerKey, str]:
    """A backfill slot's trigger and backfill (a live slot's message names no backfill)."""
    if message.backfill_id is None:
        raise ValueError(f"the {message.kind} slot message for {message.date} names no backfill")
    return message.trigger_key, message.backfill_id
