"""A Schedule's TimeBetween and DateTimeBetween keep the slots Kestra keeps (bounds excluded; OffsetTime compared
as time of day less offset; the slot's date in the trigger's zone), alone and under Not, Or and the day conditions,
and the exact count, the n-th slot and stepping either way agree with a brute-force filter of the plain slots."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from backfill_core.schedules.counting import count_slots, nth_slot
from backfill_core.schedules.cron import CronSchedule

CORE = "io.kestra.plugin.core.condition."
START, END = datetime(2024, 3, 20, tzinfo=UTC), datetime(2024, 4, 6, 23, 59, tzinfo=UTC)  # Paris's spring DST
AUTUMN = (datetime(2024, 10, 24, tzinfo=UTC), datetime(2024, 11, 2, 23, 59, tzinfo=UTC))  # and its fall-back


def time_between(after=None, before=None) -> dict:
    return {
        "type": CORE + "TimeBetween",
        **({"after": after} if after else {}),
        **({"before": before} if before else {}),
    }


def date_between(after=None, before=None) -> dict:
    return {
        "type": CORE + "DateTimeBetween",
        **({"after": after} if after else {}),
        **({"before": before} if before else {}),
    }


def _offset_time_value(text: str) -> float:
    """java.time.OffsetTime's order: seconds of the day less the offset, unwrapped."""
    clock, sign, zone = (text[:-1], "+", "00:00") if text.endswith("Z") else (text[:-6], text[-6], text[-5:])
    hours, minutes, *seconds = clock.split(":")
    offset = (int(zone[:2]) * 3600 + int(zone[3:]) * 60) * (1 if sign == "+" else -1)
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds[0] if seconds else 0) - offset


def kestra_keeps(condition: dict, slot: datetime, zone) -> bool:
    """Kestra's test of one condition on one slot, written apart from the code under test."""
    local = slot.astimezone(zone)
    kind = condition["type"].removeprefix(CORE)
    if kind in ("Not", "Or"):
        inner = [kestra_keeps(c, slot, zone) for c in condition["conditions"]]
        return not any(inner) if kind == "Not" else any(inner)
    if kind == "DayWeek":
        return local.strftime("%A").upper() == condition["dayOfWeek"]
    if kind == "Weekend":
        return local.weekday() >= 5
    if kind == "TimeBetween":
        value = local.hour * 3600 + local.minute * 60 + local.second - local.utcoffset().total_seconds()
        after, before = condition.get("after"), condition.get("before")
        return (after is None or value > _offset_time_value(after)) and (
            before is None or value < _offset_time_value(before)
        )
    after, before = condition.get("after"), condition.get("before")
    return (after is None or slot > datetime.fromisoformat(after)) and (
        before is None or slot < datetime.fromisoformat(before)
    )


NOT_WEEKEND = {"type": CORE + "Not", "conditions": [{"type": CORE + "Weekend"}]}
CASES = [
    [time_between("08:00:00+01:00", "12:00:00+01:00")],  # in Paris, 08:00-12:00 winter time, 09:00-13:00 summer
    [time_between(after="22:30:00Z")],
    [time_between(before="05:00:00.5-03:00")],  # a fraction of a second in a bound
    [time_between("23:00:00+01:00", "01:00:00+01:00")],  # after > before: OffsetTime never wraps, nothing is kept
    [date_between("2024-03-31T01:59:59+01:00", "2024-04-02T12:00:00+02:00")],  # from before the gap
    [date_between(after="2024-03-25T10:00:00Z")],
    [date_between(before="2024-03-22T06:00:00Z")],  # a bound exactly on a slot leaves it out
    [NOT_WEEKEND, time_between("09:00:00+02:00", "17:00:00+02:00")],
    [{"type": CORE + "Or", "conditions": [{"type": CORE + "DayWeek", "dayOfWeek": "SUNDAY"},
                                          time_between(before="03:00:00Z")]}],
    [{"type": CORE + "Not", "conditions": [time_between("10:00:00Z", "14:00:00Z"),
                                           date_between(before="2024-03-28T00:00:00Z")]}],
]  # fmt: skip


@pytest.mark.parametrize("window", [(START, END), AUTUMN], ids=["spring", "autumn"])
@pytest.mark.parametrize("cron", ["*/20 * * * *", "0 2 * * *", "30 6,12,23 * * *", "0 * * * 1-5"])
@pytest.mark.parametrize("conditions", CASES)
def test_time_conditions_keep_the_slots_kestra_keeps_stepped_counted_and_paged(cron, conditions, window):
    start, end = window
    plain = CronSchedule(cron, "Europe/Paris")
    kept = CronSchedule(cron, "Europe/Paris", conditions=conditions)
    expected = [s for s in plain.slots(start, end, 10**6) if all(kestra_keeps(c, s, plain.zone) for c in conditions)]
    assert kept.slots(start, end, 10**6) == expected
    assert kept.slots_newest_first(start, end, 10**6) == expected[::-1]
    assert count_slots(kept, start, end) == len(expected)
    for index in (0, len(expected) // 2, len(expected) - 1) if expected else ():
        assert nth_slot(kept, start, end, index) == expected[index]


def test_a_bound_on_a_slot_excludes_it_either_way():
    schedule = CronSchedule(
        "0 6 * * *", "UTC", conditions=[date_between("2024-03-04T06:00:00Z", "2024-03-08T06:00:00Z")]
    )
    days = [s.day for s in schedule.slots(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC), 100)]
    assert days == [5, 6, 7]
    hours = CronSchedule("0 * * * *", "UTC", conditions=[time_between("08:00:00Z", "11:00:00Z")])
    assert [s.hour for s in hours.slots(START, START + timedelta(hours=23), 100)] == [9, 10]


def test_the_live_schedule_stops_after_before_and_waits_for_after():
    schedule = CronSchedule(
        "* * * * *", "UTC", conditions=[date_between("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")]
    )
    assert schedule.next_after(datetime(2024, 1, 1, tzinfo=UTC)) == datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    assert schedule.previous_before(datetime(2031, 1, 1, tzinfo=UTC)) == datetime(2030, 1, 1, 23, 59, tzinfo=UTC)
    assert schedule.slots(datetime(2030, 1, 2, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC), 10) == []


def test_a_century_of_seconds_in_an_office_window_is_counted_without_stepping():
    """Per-day arithmetic: 100 years of every-second slots kept 09:00-17:00 UTC on weekdays, clamped to 2001-2090."""
    conditions = [NOT_WEEKEND, time_between("09:00:00Z", "17:00:00Z"),
                  date_between("2000-12-31T23:59:59Z", "2091-01-01T00:00:00Z")]  # fmt: skip
    schedule = CronSchedule("* * * * * *", "UTC", with_seconds=True, conditions=conditions)
    start, end = datetime(1995, 1, 1, tzinfo=UTC), datetime(2095, 1, 1, tzinfo=UTC)
    day, weekdays = datetime(2001, 1, 1).date(), 0
    while day < datetime(2091, 1, 1).date():
        weekdays += day.weekday() < 5
        day += timedelta(days=1)
    assert count_slots(schedule, start, end) == weekdays * (8 * 3600 - 1)  # 09:00:00 and 17:00:00 excluded
    assert nth_slot(schedule, start, end, 0) == datetime(2001, 1, 1, 9, 0, 1, tzinfo=UTC)


def flow_with(conditions: str, cron: str = "0 11 * * *") -> str:
    return (
        "id: f\nnamespace: tests\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        f"triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '{cron}'\n"
        f"    timezone: Europe/Paris\n    conditions:\n{conditions}"
    )


def test_a_flow_with_time_conditions_registers_and_its_trigger_keeps_them():
    trigger = parse_flow(
        flow_with(f"      - type: {CORE}TimeBetween\n        after: '08:00:00+01:00'\n"
                  "        before: '10:00:00+01:00'\n"
                  f"      - type: {CORE}DateTimeBetween\n        after: 2024-03-06T00:00:00+01:00\n", "0 * * * *")
    ).triggers[0]  # fmt: skip
    first = trigger.schedule().next_after(datetime(2024, 3, 1, tzinfo=UTC))
    assert first == datetime(2024, 3, 6, 8, tzinfo=UTC)  # 09:00 in Paris: 08:00 is on the bound


@pytest.mark.parametrize(
    "conditions",
    [
        f"      - type: {CORE}TimeBetween\n        after: '12:00:00+01:00'\n        before: '13:00:00+01:00'\n",
        f"      - type: {CORE}TimeBetween\n        after: '23:00:00+01:00'\n        before: '01:00:00+01:00'\n",
        f"      - type: {CORE}Weekend\n      - type: {CORE}DateTimeBetween\n        after: '2024-03-11T00:00:00Z'\n"
        "        before: '2024-03-16T00:00:00Z'\n",
    ],
)
def test_time_conditions_that_keep_no_slot_of_the_cron_are_refused(conditions):
    with pytest.raises(Invalid) as refused:
        parse_flow(flow_with(conditions))
    assert "triggers[s].conditions: no slot of cron '0 11 * * *' meets them" in refused.value.message
