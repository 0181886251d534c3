"""plan_tick, the pure heart of the live schedule: which slots one tick runs."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.flows.model import TriggerSpec
from backfill_core.triggers.live_schedule import plan_tick

MINUTE = timedelta(minutes=1)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def trigger(**fields) -> TriggerSpec:
    return TriggerSpec.model_validate(
        {"id": "cron", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "* * * * *", **fields}
    )


def plan(spec: TriggerSpec, last: datetime, tick: datetime, limit: int | None = None):
    return plan_tick(spec.schedule(), spec, last, tick, MINUTE, limit)


def test_an_on_time_tick_runs_its_slot():
    result = plan(trigger(), T0, T0 + MINUTE)
    assert result.run == [T0 + MINUTE]
    assert result.evaluated_to == T0 + MINUTE


def test_a_tick_with_nothing_due_moves_nothing():
    result = plan(trigger(cron="0 * * * *"), T0, T0 + MINUTE)
    assert result.run == [] and result.evaluated_to is None


def test_a_late_tick_still_runs_its_own_minute():
    result = plan(trigger(recoverMissedSchedules="NONE"), T0, T0 + MINUTE + timedelta(seconds=50))
    assert result.run == [T0 + MINUTE]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("ALL", [T0 + n * MINUTE for n in (1, 2, 3, 4)]),
        ("LAST", [T0 + 3 * MINUTE, T0 + 4 * MINUTE]),
        ("NONE", [T0 + 4 * MINUTE]),
    ],
)
def test_missed_slots_per_policy(policy, expected):
    result = plan(trigger(recoverMissedSchedules=policy), T0, T0 + 4 * MINUTE)
    assert result.run == expected
    assert result.evaluated_to == T0 + 4 * MINUTE


def test_a_year_behind_is_bounded_and_oldest_first():
    result = plan(trigger(), T0 - timedelta(days=365), T0, limit=100)
    assert len(result.run) == 100
    assert result.run[0] == T0 - timedelta(days=365) + MINUTE
    assert result.evaluated_to == result.run[-1]


def test_last_and_none_answer_a_year_behind_without_walking_it():
    for policy in ("LAST", "NONE"):
        result = plan(trigger(recoverMissedSchedules=policy), T0 - timedelta(days=365), T0, limit=100)
        assert result.run[-1] == T0
        assert len(result.run) <= 2
        assert result.evaluated_to == T0


def test_late_maximum_delay_drops_slots_older_than_the_delay():
    result = plan(trigger(lateMaximumDelay="PT2M"), T0, T0 + 5 * MINUTE)
    assert result.run == [T0 + 3 * MINUTE, T0 + 4 * MINUTE, T0 + 5 * MINUTE]
    assert result.evaluated_to == T0 + 5 * MINUTE  # the skipped slots count as evaluated


def test_seconds_slots_between_ticks_all_run():
    spec = trigger(cron="*/15 * * * * *", withSeconds=True)
    result = plan(spec, T0, T0 + MINUTE)
    assert result.run == [T0 + timedelta(seconds=s) for s in (15, 30, 45, 60)]


def test_late_maximum_delay_never_drops_an_on_time_slot():
    spec = trigger(cron="*/10 * * * * *", withSeconds=True, lateMaximumDelay="PT30S")
    result = plan(spec, T0, T0 + MINUTE)
    assert result.run == [T0 + timedelta(seconds=s) for s in (10, 20, 30, 40, 50, 60)]


def test_the_live_schedule_keeps_only_what_time_conditions_keep():
    """TimeBetween and DateTimeBetween filter the live schedule's slots as they filter a backfill's."""
    office = [
        {"type": "io.kestra.plugin.core.condition.TimeBetween", "after": "12:01:00Z", "before": "12:04:00Z"},
        {"type": "io.kestra.plugin.core.condition.DateTimeBetween", "before": "2024-05-01T12:03:30Z"},
    ]
    result = plan(trigger(recoverMissedSchedules="ALL", conditions=office), T0, T0 + 10 * MINUTE)
    assert result.run == [T0 + 2 * MINUTE, T0 + 3 * MINUTE]  # 12:01 on the bound; 12:04 past it
    last = plan(trigger(recoverMissedSchedules="LAST", conditions=office), T0, T0 + 10 * MINUTE)
    assert last.run == [T0 + 3 * MINUTE]
