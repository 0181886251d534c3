"""A person's change of a backfill whose write keeps losing (the executors changed what it was computed from):
each loss decides again from what the write found, without a read, for CHANGE_SECONDS rather than a fixed
count of attempts; then it gives up with a conflict."""

from datetime import UTC, datetime

import pytest

from backfill_core.backfills import changes
from backfill_core.backfills.model import BackfillSpec
from backfill_core.backfills.progress import Progress
from backfill_core.backfills.progress_changes import change_window
from backfill_core.errors import Conflict
from backfill_core.triggers.model import TriggerKey

KEY = TriggerKey("main", "tests", "flow", "schedule")
AT = datetime(2024, 1, 1, tzinfo=UTC)
SPEC = BackfillSpec(
    id="b1",
    tenant="main",
    namespace="tests",
    flow_id="flow",
    trigger_id="schedule",
    trigger_type="io.kestra.plugin.core.trigger.Schedule",
    cron="0 * * * *",
    timezone="UTC",
    start=AT,
    end=AT.replace(hour=4),
    total=5,
    created=AT,
)
SEEN = Progress(total=5, concurrency=1, cursor=1, slots={0: -1}, updated=AT)


def contended(monkeypatch, losses: int) -> dict[str, int]:
    """A progress whose write loses `losses` times (returning what it found), then lands."""
    counts = {"writes": 0, "reads": 0}

    def write(backfill_id, wanted, now):
        counts["writes"] += 1
        if counts["writes"] <= losses:
            return False, SEEN
        return True, SEEN.model_copy(update={"paused": True})

    def read(pk, backfill_id):
        counts["reads"] += 1
        return SPEC, SEEN

    monkeypatch.setattr(changes.backfill_items, "get", read)
    monkeypatch.setattr(changes.backfill_progress, "change", write)
    monkeypatch.setattr(changes, "send_slots", lambda spec, slots, **_: None)
    return counts


def pause(spec, progress):
    return change_window(progress, paused=True)


def test_a_change_outlasting_many_writers_lands_after_more_than_the_fixed_attempts(monkeypatch):
    counts = contended(monkeypatch, losses=changes.CHANGE_ATTEMPTS * 3)
    assert changes.change(KEY, "b1", pause).paused
    assert counts == {"writes": changes.CHANGE_ATTEMPTS * 3 + 1, "reads": 1}  # each loss said what it found


def test_a_change_gives_up_with_a_conflict_once_its_attempts_and_time_are_spent(monkeypatch):
    counts = contended(monkeypatch, losses=10**6)
    monkeypatch.setattr(changes, "CHANGE_SECONDS", 0.0)
    with pytest.raises(Conflict, match="changing too fast"):
        changes.change(KEY, "b1", pause)
    assert counts["writes"] == changes.CHANGE_ATTEMPTS
