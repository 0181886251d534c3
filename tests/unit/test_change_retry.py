"""A change to a backfill record under contention: it keeps retrying for CHANGE_SECONDS rather than giving
up after a fixed count of attempts (at concurrency 50, bench/throughput.py saw slots stall for the queue's
visibility timeout when 20 attempts ran out)."""

import pytest

from backfill_core.backfills import changes
from backfill_core.errors import ConcurrentUpdate, Conflict
from backfill_core.triggers.model import TriggerKey

KEY = TriggerKey("main", "tests", "flow", "schedule")


def contended(monkeypatch, losses: int) -> list[int]:
    """A record whose conditional write loses `losses` times, then lands; returns the attempts made."""
    attempts = [0]

    def save_backfill(updated, current, seen):
        attempts[0] += 1
        if attempts[0] <= losses:
            raise ConcurrentUpdate("another writer got there first")
        return updated

    monkeypatch.setattr(changes.triggers_repository, "get_backfill", lambda key, backfill_id: "current")
    monkeypatch.setattr(changes.triggers_repository, "save_backfill", save_backfill)
    monkeypatch.setattr(changes.time, "sleep", lambda seconds: None)
    return attempts


def transition(current, at):
    return "updated", []


def test_a_change_outlasting_many_writers_lands_after_more_than_the_fixed_attempts(monkeypatch):
    attempts = contended(monkeypatch, losses=changes.CHANGE_ATTEMPTS * 3)
    assert changes.change(KEY, "b1", transition) == "updated"
    assert attempts[0] == changes.CHANGE_ATTEMPTS * 3 + 1


def test_a_change_gives_up_with_a_conflict_once_its_attempts_and_time_are_spent(monkeypatch):
    attempts = contended(monkeypatch, losses=10**6)
    monkeypatch.setattr(changes, "CHANGE_SECONDS", 0.0)
    with pytest.raises(Conflict, match="changing too fast"):
        changes.change(KEY, "b1", transition)
    assert attempts[0] == changes.CHANGE_ATTEMPTS
