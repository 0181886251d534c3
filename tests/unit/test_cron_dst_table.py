"""Slot lists pinned for the cases users trip on: timezones, both DST changes, nicknames, seconds, edges.

The DST rule is classic cron's: a fixed-hour job runs once every local day (a local time skipped by
spring-forward runs at the first instant after the gap; a local time repeated by fall-back runs at its
first occurrence); a job whose hour is a wildcard or a step runs at every real instant.
"""

from datetime import datetime

import pytest

from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import format_date, parse_instant

CASES = [
    (
        "seed: every 30 minutes over five hours, both ends inclusive",
        "*/30 * * * *",
        "UTC",
        False,
        "2024-03-28T06:30:00Z",
        "2024-03-28T11:30:00Z",
        [
            "2024-03-28T06:30:00Z",
            "2024-03-28T07:00:00Z",
            "2024-03-28T07:30:00Z",
            "2024-03-28T08:00:00Z",
            "2024-03-28T08:30:00Z",
            "2024-03-28T09:00:00Z",
            "2024-03-28T09:30:00Z",
            "2024-03-28T10:00:00Z",
            "2024-03-28T10:30:00Z",
            "2024-03-28T11:00:00Z",
            "2024-03-28T11:30:00Z",
        ],
    ),
    (
        "08:00 Paris across spring-forward: still 08:00 local, one hour earlier in UTC",
        "0 8 * * *",
        "Europe/Paris",
        False,
        "2024-03-30T00:00:00Z",
        "2024-04-01T23:59:59Z",
        ["2024-03-30T08:00:00+01:00", "2024-03-31T08:00:00+02:00", "2024-04-01T08:00:00+02:00"],
    ),
    (
        "08:00 Paris across fall-back",
        "0 8 * * *",
        "Europe/Paris",
        False,
        "2024-10-26T00:00:00Z",
        "2024-10-28T23:59:59Z",
        ["2024-10-26T08:00:00+02:00", "2024-10-27T08:00:00+01:00", "2024-10-28T08:00:00+01:00"],
    ),
    (
        "02:30 Paris on spring-forward day does not exist: once, at 03:00 local",
        "30 2 * * *",
        "Europe/Paris",
        False,
        "2024-03-30T12:00:00Z",
        "2024-04-01T12:00:00Z",
        ["2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"],
    ),
    (
        "01:30 New York on fall-back day happens twice: runs once, at the first",
        "30 1 * * *",
        "America/New_York",
        False,
        "2024-11-02T12:00:00Z",
        "2024-11-04T12:00:00Z",
        ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
    ),
    (
        "every 30 minutes in New York over fall-back: both passes of 01:00 and 01:30",
        "*/30 * * * *",
        "America/New_York",
        False,
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T03:00:00-05:00",
        [
            "2024-11-03T00:00:00-04:00",
            "2024-11-03T00:30:00-04:00",
            "2024-11-03T01:00:00-04:00",
            "2024-11-03T01:30:00-04:00",
            "2024-11-03T01:00:00-05:00",
            "2024-11-03T01:30:00-05:00",
            "2024-11-03T02:00:00-05:00",
            "2024-11-03T02:30:00-05:00",
            "2024-11-03T03:00:00-05:00",
        ],
    ),
    (
        "hourly in Paris over spring-forward: the skipped hour has no slot",
        "30 * * * *",
        "Europe/Paris",
        False,
        "2024-03-31T00:00:00+01:00",
        "2024-03-31T04:00:00+02:00",
        ["2024-03-31T00:30:00+01:00", "2024-03-31T01:30:00+01:00", "2024-03-31T03:30:00+02:00"],
    ),
    (
        "every two hours in New York over spring-forward: the skipped 02:00 has no slot, 03:00 is no step",
        "0 */2 * * *",
        "America/New_York",
        False,
        "2024-03-10T00:00:00-05:00",
        "2024-03-10T06:00:00-04:00",
        ["2024-03-10T00:00:00-05:00", "2024-03-10T04:00:00-04:00", "2024-03-10T06:00:00-04:00"],
    ),
    (
        "@daily in Paris",
        "@daily",
        "Europe/Paris",
        False,
        "2024-03-30T00:00:00+01:00",
        "2024-04-01T00:00:00+02:00",
        ["2024-03-30T00:00:00+01:00", "2024-03-31T00:00:00+01:00", "2024-04-01T00:00:00+02:00"],
    ),
    (
        "@hourly",
        "@hourly",
        "UTC",
        False,
        "2024-01-01T00:00:00Z",
        "2024-01-01T02:00:00Z",
        ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"],
    ),
    (
        "first of the month",
        "0 0 1 * *",
        "UTC",
        False,
        "2024-01-15T00:00:00Z",
        "2024-04-01T00:00:00Z",
        ["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z"],
    ),
    (
        "weekdays at 09:00 (2024-03-01 is a Friday)",
        "0 9 * * 1-5",
        "UTC",
        False,
        "2024-03-01T00:00:00Z",
        "2024-03-05T23:00:00Z",
        ["2024-03-01T09:00:00Z", "2024-03-04T09:00:00Z", "2024-03-05T09:00:00Z"],
    ),
    (
        "withSeconds: every 20 seconds",
        "*/20 * * * * *",
        "UTC",
        True,
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:01:00Z",
        ["2024-01-01T00:00:00Z", "2024-01-01T00:00:20Z", "2024-01-01T00:00:40Z", "2024-01-01T00:01:00Z"],
    ),
    (
        "a start that is not on a slot begins at the next slot",
        "0 * * * *",
        "UTC",
        False,
        "2024-01-01T00:00:01Z",
        "2024-01-01T02:30:00Z",
        ["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"],
    ),
    (
        "an end exactly on a slot includes it",
        "0 * * * *",
        "UTC",
        False,
        "2024-01-01T00:30:00Z",
        "2024-01-01T02:00:00Z",
        ["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"],
    ),
]


@pytest.mark.parametrize(
    ("case", "cron", "timezone", "with_seconds", "start", "end", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_slot_lists(case, cron, timezone, with_seconds, start, end, expected):
    schedule = CronSchedule(cron, timezone, with_seconds)
    found = schedule.slots(parse_instant(start), parse_instant(end), 1000)
    assert [format_date(schedule.local(slot)) for slot in found] == expected
    # The same slots, one at a time, in both directions.
    assert found == sorted(set(found))
    for earlier, later in zip(found, found[1:], strict=False):
        assert schedule.next_after(earlier) == later
        assert schedule.previous_before(later) == earlier


def test_a_daily_job_runs_exactly_once_every_local_day_of_a_year_with_two_dst_changes():
    for cron, timezone in (("30 2 * * *", "Europe/Paris"), ("30 1 * * *", "America/New_York")):
        schedule = CronSchedule(cron, timezone)
        slots = schedule.slots(parse_instant("2024-01-01T12:00:00Z"), parse_instant("2024-12-31T12:00:00Z"), 1000)
        days = [schedule.local(s).date() for s in slots]
        assert len(days) == len(set(days)) == 365, (cron, timezone)
        assert all(isinstance(d, type(datetime(2024, 1, 1).date())) for d in days)
