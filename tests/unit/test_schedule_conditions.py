"""A Schedule's `conditions` leave out the same slots wherever slots are made: stepping either way, the exact
count and its n-th slot, the next and previous slot, and the flow's registration refuses what is not supported."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from backfill_core.schedules.counting import count_slots, nth_slot
from backfill_core.schedules.cron import CronSchedule

CORE = "io.kestra.plugin.core.condition."
MONDAY = {"type": CORE + "DayWeek", "dayOfWeek": "MONDAY"}
FRIDAY = {"type": CORE + "DayWeek", "dayOfWeek": "FRIDAY"}
WEEKEND = {"type": CORE + "Weekend"}
FIRST_MONDAY = {"type": CORE + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}
LAST_FRIDAY = {"type": "io.kestra.core.models.conditions.types.DayWeekInMonthCondition", "dayOfWeek": "FRIDAY",
               "dayInMonth": "LAST", "date": "{{ trigger.date }}"}  # fmt: skip
START, END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 30, 23, 59, tzinfo=UTC)  # across Paris's DST


def every(schedule: CronSchedule, start=START, end=END) -> list[datetime]:
    return schedule.slots(start, end, 10**6)


@pytest.mark.parametrize(
    ("conditions", "weekdays"),
    [
        ([MONDAY], {0}),
        ([WEEKEND], {5, 6}),
        ([{"type": CORE + "Not", "conditions": [WEEKEND]}], {0, 1, 2, 3, 4}),
        ([{"type": CORE + "Or", "conditions": [MONDAY, FRIDAY]}], {0, 4}),
        ([WEEKEND, {"type": CORE + "Not", "conditions": [{"type": CORE + "DayWeek", "dayOfWeek": "SUNDAY"}]}], {5}),
    ],
)
def test_only_the_days_the_conditions_allow_have_slots_in_the_triggers_zone(conditions, weekdays):
    plain = CronSchedule("0 23 * * *", "Europe/Paris")  # 23:00 in Paris is the next day in UTC half the year
    kept = CronSchedule("0 23 * * *", "Europe/Paris", conditions=conditions)
    expected = [s for s in every(plain) if s.astimezone(plain.zone).weekday() in weekdays]
    assert expected and every(kept) == expected
    assert kept.slots_newest_first(START, END, 10**6) == expected[::-1]


def test_the_nth_weekday_of_each_month():
    first = CronSchedule("0 11 * * *", "Europe/Paris", conditions=[FIRST_MONDAY])
    last = CronSchedule("0 11 * * *", "Europe/Paris", conditions=[LAST_FRIDAY])
    year = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 23, tzinfo=UTC))
    assert [s.astimezone(first.zone).day for s in every(first, *year)] == [1, 5, 4, 1, 6, 3, 1, 5, 2, 7, 4, 2]
    assert [s.astimezone(last.zone).day for s in every(last, *year)] == [26, 23, 29, 26, 31, 28, 26, 30, 27, 25,
                                                                          29, 27]  # fmt: skip


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 2 * * *", "30 2 * * 1-6", "0 0 L * *"])
@pytest.mark.parametrize(
    "conditions", [[MONDAY], [WEEKEND], [FIRST_MONDAY], [{"type": CORE + "Not", "conditions": [MONDAY]}]]
)
def test_the_count_and_the_nth_slot_agree_with_stepping(cron, conditions):
    schedule = CronSchedule(cron, "Europe/Paris", conditions=conditions)
    stepped = every(schedule)
    assert count_slots(schedule, START, END) == len(stepped)
    for index in (0, len(stepped) // 2, len(stepped) - 1) if stepped else ():
        assert nth_slot(schedule, START, END, index) == stepped[index]


def test_a_century_of_minutes_on_mondays_is_counted_without_stepping():
    schedule = CronSchedule("* * * * *", "UTC", conditions=[MONDAY])
    start, end = datetime(2000, 1, 3, tzinfo=UTC), datetime(2099, 12, 31, 23, 59, tzinfo=UTC)
    mondays = (end.date() - start.date()).days // 7 + 1
    assert count_slots(schedule, start, end) == mondays * 24 * 60


def test_the_next_and_previous_slot_skip_the_days_left_out():
    schedule = CronSchedule("0 6 * * *", "UTC", conditions=[MONDAY])
    tuesday = datetime(2024, 3, 5, 12, tzinfo=UTC)
    assert schedule.next_after(tuesday) == datetime(2024, 3, 11, 6, tzinfo=UTC)
    assert schedule.previous_before(tuesday) == datetime(2024, 3, 4, 6, tzinfo=UTC)
    assert schedule.next_after(tuesday) - schedule.previous_before(tuesday) == timedelta(days=7)


def flow(conditions: str) -> str:
    return (
        "id: f\nnamespace: tests\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 11 * * *'\n"
        f"    conditions:\n{conditions}"
    )


def test_a_flow_with_day_conditions_registers_and_its_trigger_keeps_them():
    trigger = parse_flow(flow(f"      - type: {CORE}DayWeek\n        dayOfWeek: MONDAY\n")).triggers[0]
    assert trigger.schedule().next_after(datetime(2024, 3, 5, tzinfo=UTC)).weekday() == 0


@pytest.mark.parametrize(
    ("conditions", "named"),
    [
        (f"      - type: {CORE}ExecutionFlow\n        flowId: x\n",
         "triggers[s].conditions[0].type: condition type 'io.kestra.plugin.core.condition.ExecutionFlow' is not "
         "supported yet"),
        (f"      - type: {CORE}DateTimeBetween\n", "triggers[s].conditions[0]: needs `after`, `before` or both"),
        (f"      - type: {CORE}DateTimeBetween\n        after: '2024-01-01T00:00:00'\n",
         "triggers[s].conditions[0].after: '2024-01-01T00:00:00' is not an ISO-8601 date-time with an offset"),
        (f"      - type: {CORE}DateTimeBetween\n        after: '2024-02-01T00:00:00Z'\n"
         "        before: '2024-01-01T00:00:00Z'\n",
         "triggers[s].conditions[0]: no date is after 2024-02-01T00:00:00Z and before 2024-01-01T00:00:00Z"),
        (f"      - type: {CORE}DateTimeBetween\n        after: '9999-12-31T00:00:00Z'\n",
         "triggers[s].conditions[0].after: 9999-12-31T00:00:00Z is outside the supported dates"),
        (f"      - type: {CORE}TimeBetween\n        before: '08:00:00'\n",
         "triggers[s].conditions[0].before: '08:00:00' is not an ISO-8601 time with an offset"),
        (f"      - type: {CORE}TimeBetween\n        after: 8:00\n",
         "triggers[s].conditions[0].after: '480' is not an ISO-8601 time with an offset"),
        (f"      - type: {CORE}DayWeek\n        dayOfWeek: MONDY\n",
         "triggers[s].conditions[0].dayOfWeek: must be one of"),
        (f"      - type: {CORE}DayWeek\n        dayOfWeek: MONDAY\n        date: '{{{{ now() }}}}'\n",
         "triggers[s].conditions[0].date: only {{ trigger.date }}"),
        (f"      - type: {CORE}Not\n        conditions:\n          - type: {CORE}Weekend\n            colour: blue\n",
         "triggers[s].conditions[0].conditions[0].colour: not a property of this condition"),
        (f"      - type: {CORE}Or\n        conditions: []\n", "triggers[s].conditions[0].conditions: a non-empty list"),
        ("      - type: com.example.MyCondition\n", "triggers[s].conditions[0].type: condition type 'com.example"),
    ],
)  # fmt: skip
def test_a_condition_that_cannot_be_evaluated_here_is_refused_with_its_path(conditions, named):
    with pytest.raises(Invalid) as refused:
        parse_flow(flow(conditions))
    assert named in refused.value.message


def test_conditions_that_leave_no_day_of_the_cron_are_refused_and_never_stepped_forever():
    """Was: a weekday cron with a Weekend condition stepped day by day to year 9999 (nine minutes, then an
    OverflowError) looking for its first slot."""
    with pytest.raises(Invalid) as refused:
        parse_flow(flow(f"      - type: {CORE}Weekend\n").replace("'0 11 * * *'", "'0 11 * * 1-5'"))
    assert "triggers[s].conditions: no slot of cron '0 11 * * 1-5' meets them" in refused.value.message
    never = CronSchedule("0 11 * * 1-5", "UTC", conditions=[WEEKEND])
    assert never.slots(START, END, 10) == [] and never.slots_newest_first(START, END, 10) == []
