"""The dry run's counting agrees with stepping through the slots, on random crons, timezones and ranges
(DST changes included), and answers big ranges without stepping."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.schedules.counting import count_slots, nth_slot
from backfill_core.schedules.cron import CronSchedule

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # changes at midnight
    "Asia/Kolkata",  # a half-hour offset, no DST
    "Australia/Sydney",
    "Antarctica/Troll",  # a two-hour DST shift
]
CRONS = [
    ("* * * * *", False),
    ("*/7 * * * *", False),
    ("30 2 * * *", False),
    ("30 1 * * *", False),
    ("0 */2 * * *", False),
    ("15,45 1-3 * * *", False),
    ("0 9 * * 1-5", False),
    ("0 0 1,15 * 1", False),
    ("0 0 1 * *", False),
    ("*/20 * * * * *", True),
    ("0 30 2 * * *", True),
    ("@daily", False),
    ("@hourly", False),
    ("0 0 L * *", False),  # specials: their days are stepped, their times of day counted
    ("0 12 * * 5#2", False),
    ("*/20 1-3 L * *", False),
    ("0 2 15W * *", False),
    ("30 1 1W * *", False),
    ("0 0 * * L0", False),
    ("0 0 L * 5", False),
    ("0 */6 * * 1#1,0#2", False),
    ("0 30 * L * *", True),
]
DST_DATES = ["2024-03-10", "2024-03-31", "2024-04-07", "2024-09-08", "2024-10-06", "2024-10-27", "2024-11-03"]


def stepped(schedule: CronSchedule, start: datetime, end: datetime) -> int:
    return len(schedule.slots(start, end, 1_000_000))


def random_cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        cron, seconds = rng.choice(CRONS)
        zone = rng.choice(ZONES)
        around = datetime.fromisoformat(rng.choice(DST_DATES)).replace(tzinfo=UTC)
        start = around + timedelta(seconds=rng.randint(-3 * 86400, 86400), microseconds=rng.choice([0, 500_000]))
        hours = 2 if seconds else 24 * (3 if cron.startswith(("*", "0 */", "15")) else 40)
        if "L" in cron or "W" in cron or "#" in cron:
            hours = 24 * 70  # reach a second month's special day
        end = start + timedelta(seconds=rng.randint(0, hours * 3600))
        yield cron, seconds, zone, start, end


@pytest.mark.parametrize("seed", range(6))
def test_count_equals_stepping_on_random_crons_zones_and_ranges(seed):
    for cron, seconds, zone, start, end in random_cases(seed, 25):
        schedule = CronSchedule(cron, zone, seconds)
        assert count_slots(schedule, start, end) == stepped(schedule, start, end), (cron, zone, start, end)


@pytest.mark.parametrize(
    ("cron", "zone", "expected"),
    [
        # 3,653 days and the end instant itself.
        ("* * * * *", "UTC", 3653 * 1440 + 1),
        # Ten spring-forward days lose an hour and ten fall-back days gain one: the same total.
        ("* * * * *", "Europe/Paris", 3653 * 1440 + 1),
        # A fixed-hour daily job runs once every local day, whatever DST does.
        ("30 2 * * *", "Europe/Paris", 3653),
        ("30 1 * * *", "America/New_York", 3653),
    ],
)
def test_ten_years(cron, zone, expected):
    start, end = datetime(2015, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    assert count_slots(CronSchedule(cron, zone), start, end) == expected


def test_an_empty_or_reversed_range_counts_nothing():
    schedule = CronSchedule("0 * * * *")
    moment = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    assert count_slots(schedule, moment, moment) == 0
    assert count_slots(schedule, moment, moment - timedelta(hours=5)) == 0
    assert count_slots(schedule, moment.replace(minute=0), moment.replace(minute=0)) == 1


def never_stepped(*args, **kwargs):
    raise AssertionError("the count stepped through slots")


@pytest.mark.parametrize(
    ("cron", "seconds", "years", "per_month"),
    [("* * L * *", False, 5, 1440), ("* * * L * *", True, 1, 86400), ("* * * * 5#2", False, 5, 1440)],
)
def test_l_hash_and_w_crons_are_counted_without_stepping_each_slot(monkeypatch, cron, seconds, years, per_month):
    """Counting `* * L * *` over 5 years stepped 86,400 slots (26 s in the API); with seconds over a year
    31 million (174 s). Their days are found one by one and each day's times counted."""
    monkeypatch.setattr(CronSchedule, "slots", never_stepped)
    monkeypatch.setattr(CronSchedule, "next_after", never_stepped)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = start.replace(year=2020 + years) - timedelta(seconds=1)
    assert count_slots(CronSchedule(cron, "Europe/Paris", seconds), start, end) == 12 * years * per_month


def test_a_nearest_weekday_cron_counts_the_weekday_not_the_plain_day():
    """15 June 2024 is a Saturday: `15W` fires on Friday the 14th. The count took it for the 15th."""
    schedule = CronSchedule("0 12 15W * *", "UTC")
    friday, saturday = datetime(2024, 6, 14, tzinfo=UTC), datetime(2024, 6, 15, 23, tzinfo=UTC)
    assert schedule.slots(friday, saturday, 10) == [datetime(2024, 6, 14, 12, tzinfo=UTC)]
    assert count_slots(schedule, friday, saturday) == 1
    assert count_slots(schedule, friday + timedelta(hours=13), saturday) == 0


SPECIALS = [c for c, _ in CRONS if any(s in c for s in "LW#")]


@pytest.mark.parametrize("cron", SPECIALS)
def test_l_hash_and_w_counts_equal_stepping_in_every_test_zone(cron):
    seconds = len(cron.split()) == 6
    for zone in ZONES:
        schedule = CronSchedule(cron, zone, seconds)
        for start, end in [
            ("2024-02-10T05:00:00Z", "2024-05-20T07:30:00Z"),
            ("2024-08-20T00:00:00Z", "2024-12-01T00:00:00Z"),
        ]:
            low, high = datetime.fromisoformat(start), datetime.fromisoformat(end)
            assert count_slots(schedule, low, high) == stepped(schedule, low, high), (cron, zone, start)


@pytest.mark.parametrize("seed", range(3))
def test_the_nth_slot_is_the_one_stepping_reaches(seed):
    """A slots page starts at its first slot by counting to it, not stepping: the same slot either way."""
    for cron, seconds, zone, start, end in random_cases(100 + seed, 25):
        schedule = CronSchedule(cron, zone, seconds)
        slots = schedule.slots(start, end, 1_000_000)
        for index in sorted({0, 1, len(slots) // 3, len(slots) // 2, len(slots) - 1}):
            if 0 <= index < len(slots):
                assert nth_slot(schedule, start, end, index) == slots[index], (cron, zone, start, end, index)
        assert nth_slot(schedule, start, end, len(slots)) is None


@pytest.mark.parametrize("seed", range(2))
def test_over_many_months_counting_whole_months_agrees_with_stepping(seed):
    """Past its first and last days a long span is counted a month at a time (by the month's shape): the count and
    the nth slot are still those stepping gives, across DST changes and leap years."""
    rng = random.Random(200 + seed)
    sparse = [(cron, seconds) for cron, seconds in CRONS if not cron.startswith(("* ", "*/", "0 30 *")) and not seconds]
    for cron, seconds in sparse:
        zone = rng.choice(ZONES)
        start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 300 * 86400))
        end = start + timedelta(days=rng.randint(400, 800), seconds=rng.randint(0, 86400))
        schedule = CronSchedule(cron, zone, seconds)
        slots = schedule.slots(start, end, 1_000_000)
        assert count_slots(schedule, start, end) == len(slots), (cron, zone, start, end)
        for index in sorted({0, len(slots) // 5, len(slots) // 2, len(slots) - 2, len(slots) - 1}):
            if 0 <= index < len(slots):
                assert nth_slot(schedule, start, end, index) == slots[index], (cron, zone, start, end, index)
