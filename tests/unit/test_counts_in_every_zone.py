"""The count of a backfill (its total, percent, slots page and dry run) agrees with the slots it runs, in
every IANA zone over 2000-2030: midnight DST starts, 30- and 120-minute shifts, and days skipped whole.

The sweep finds every offset change of every zone, then compares count_slots with the stepped slots in a
window around each. A cron that fires every day sees of a change only its local wall time and the offsets
before and after, so changes alike in those are checked once (the 9,900 changes of the
599 zones' 447 distinct files are about 160 patterns);
that keeps the sweep to seconds without leaving a kind of change out.
"""

import hashlib
import importlib.resources
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from backfill_core.schedules.counting import TICK, count_slots, offset_changes
from backfill_core.schedules.cron import CronSchedule
from backfill_core.schedules.kestra_time import EARLIEST, LATEST

SWEPT = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
# Probes this far apart see every change: no zone's offset changes twice within 6.9 days in 2000-2030
# (America/Cambridge_Bay, October 2000, is the closest pair).
PROBE = timedelta(days=6)
CRONS = [  # (cron, how far either side of a change its window reaches)
    ("0 0 * * *", timedelta(days=1)),
    ("0 2 * * *", timedelta(days=1)),
    ("30 1 * * *", timedelta(days=1)),
    ("0 * * * *", timedelta(hours=2)),
    ("*/30 * * * *", timedelta(minutes=90)),
    ("*/7 * * * *", timedelta(minutes=70)),  # minutes that no hour or half hour lines up with
]
MIDNIGHT_DST_STARTS = [  # zone, a local day whose midnight DST skips
    ("America/Santiago", date(2024, 9, 8)),
    ("America/Havana", date(2024, 3, 10)),
    ("Africa/Cairo", date(2024, 4, 26)),
    ("Asia/Beirut", date(2024, 3, 31)),
    ("Atlantic/Azores", date(2024, 3, 31)),
    ("Asia/Amman", date(2021, 3, 26)),
    ("Asia/Tehran", date(2021, 3, 22)),
]


def zone_file(name: str) -> bytes:
    for folder in zoneinfo.TZPATH:
        path = Path(folder, name)
        if path.is_file():
            return path.read_bytes()
    return importlib.resources.files("tzdata.zoneinfo").joinpath(name).read_bytes()


@cache
def change_patterns() -> tuple[int, int, dict]:
    """(zones swept, changes found, one change of each pattern with a zone that has it)."""
    names = sorted(zoneinfo.available_timezones())
    alike: dict[bytes, str] = {}  # zones whose files are identical (links) change identically
    for name in names:
        alike.setdefault(hashlib.sha1(zone_file(name)).digest(), name)
    probes, moment = [], SWEPT[0]
    while moment < SWEPT[1]:
        probes.append(moment)
        moment += PROBE
    probes.append(SWEPT[1])
    found, patterns = 0, {}
    for name in alike.values():
        zone = zoneinfo.ZoneInfo(name)
        offsets = [probe.astimezone(zone).utcoffset() for probe in probes]
        for i in range(len(probes) - 1):
            if offsets[i] != offsets[i + 1]:
                for change, before, after in offset_changes(zone, probes[i], probes[i + 1]):
                    found += 1
                    patterns.setdefault(((change + before).time(), before, after), (name, change))
    return len(names), found, patterns


def assert_count_matches_slots(schedule: CronSchedule, low: datetime, high: datetime) -> list[datetime]:
    slots = schedule.slots(low, high, 10_000)
    where = (schedule.cron, schedule.timezone, low.isoformat(), high.isoformat())
    assert all(earlier < later for earlier, later in zip(slots, slots[1:], strict=False)), where  # none twice
    assert count_slots(schedule, low, high) == len(slots), where
    return slots


def test_counts_agree_with_the_slots_run_around_every_offset_change_of_every_zone_2000_2030():
    zones, changes, patterns = change_patterns()
    assert zones == len(zoneinfo.available_timezones()) > 400
    assert changes > 5_000 and len(patterns) > 100  # the sweep did find the world's changes
    for name, change in patterns.values():
        for cron, reach in CRONS:
            schedule = CronSchedule(cron, name)
            slots = assert_count_matches_slots(schedule, change - reach, change + reach)
            if schedule.fixed_hour:  # the executor walks slot to slot: the same slots, each once
                walked = [schedule.first_at_or_after(change - reach)]
                while len(walked) < len(slots):
                    walked.append(schedule.next_after(walked[-1]))
                assert walked == slots, (cron, name, change)
                days = [schedule.local(slot).date() for slot in slots]
                assert len(days) == len(set(days)), (cron, name, change)  # a daily job runs once a local day


@pytest.mark.parametrize(("zone", "day"), MIDNIGHT_DST_STARTS, ids=[z for z, _ in MIDNIGHT_DST_STARTS])
def test_a_midnight_dst_start_counts_the_slot_moved_to_one_oclock(zone, day):
    """A daily midnight job runs at 01:00 on the day whose midnight is skipped: five days, five slots."""
    schedule = CronSchedule("0 0 * * *", zone)
    low = datetime.combine(day - timedelta(days=2), datetime.min.time(), schedule.zone).astimezone(UTC)
    high = low + timedelta(days=4, hours=12)
    slots = assert_count_matches_slots(schedule, low, high)
    assert [schedule.local(slot).date() for slot in slots] == [day + timedelta(days=n) for n in range(-2, 3)]
    assert schedule.local(slots[2]).hour == 1


def test_a_day_skipped_whole_runs_no_slot_twice_on_the_next_day():
    """Apia went from 29 to 31 December 2011: a job at 02:00 runs on the 29th and once on the 31st."""
    schedule = CronSchedule("0 2 * * *", "Pacific/Apia")
    low, high = datetime(2011, 12, 28, tzinfo=UTC), datetime(2012, 1, 2, tzinfo=UTC)
    slots = assert_count_matches_slots(schedule, low, high)
    local = [schedule.local(slot).isoformat() for slot in slots]
    assert local == [
        "2011-12-28T02:00:00-10:00",
        "2011-12-29T02:00:00-10:00",
        "2011-12-31T02:00:00+14:00",
        "2012-01-01T02:00:00+14:00",
        "2012-01-02T02:00:00+14:00",
    ]
    assert schedule.next_after(slots[1]) == slots[2]
    assert schedule.previous_before(slots[2]) == slots[1]


@pytest.mark.parametrize(
    ("zone", "year"),
    [("America/Santiago", 2024), ("Africa/Cairo", 2024), ("Pacific/Apia", 2011), ("Australia/Lord_Howe", 2024)],
)
def test_a_daily_job_runs_once_on_every_local_day_of_a_year(zone, year):
    schedule = CronSchedule("0 0 * * *", zone)
    low = datetime(year, 1, 1, 12, tzinfo=UTC)
    slots = assert_count_matches_slots(schedule, low, low.replace(year=year + 1))
    days = [schedule.local(slot).date() for slot in slots]
    existing = {(low + timedelta(hours=h)).astimezone(schedule.zone).date() for h in range(366 * 24)}
    existing = {d for d in existing if days[0] <= d <= days[-1]}
    assert sorted(set(days)) == days and set(days) == existing


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "UTC"])
@pytest.mark.parametrize("cron", ["0 0 1 1 *", "0 0 L * *", "0 12 * * 5#1", "0 0 15W * *", "*/30 * * * *"])
def test_slots_their_neighbours_and_counts_at_the_ends_of_the_supported_range(zone, cron):
    """The first slot's `trigger.previous` and the last one's `trigger.next` lie outside the range; reckoning
    them, and counting at both ends, overflows nothing (a start in year 1 was an OverflowError)."""
    schedule = CronSchedule(cron, zone)
    reach = timedelta(days=2 if cron.startswith("*") else 400)
    for low, high in [(EARLIEST, EARLIEST + reach), (LATEST - reach, LATEST - TICK)]:
        slots = assert_count_matches_slots(schedule, low, high)
        assert slots, (cron, zone, low)
        assert schedule.previous_before(slots[0]) < low
        assert schedule.next_after(slots[-1]) > high
        assert schedule.slots_newest_first(low, high, 10_000) == slots[::-1]


@pytest.mark.parametrize(
    ("cron", "zone", "change"),
    [
        ("*/7 * * * *", "Australia/Lord_Howe", datetime(2024, 4, 6, 15, tzinfo=UTC)),  # a repeated half hour
        ("*/7 1,2 * * *", "Australia/Lord_Howe", datetime(2024, 4, 6, 15, tzinfo=UTC)),
        ("15 0-3 * * *", "Antarctica/Troll", datetime(2012, 10, 28, 1, tzinfo=UTC)),  # two repeated hours
        ("30 1 * * *", "America/New_York", datetime(2013, 11, 3, 6, tzinfo=UTC)),
        ("0 */2 * * *", "Europe/Paris", datetime(2013, 10, 27, 1, tzinfo=UTC)),
        ("*/13 * * * * *", "Australia/Lord_Howe", datetime(2024, 4, 6, 15, tzinfo=UTC)),
    ],
)
def test_the_slots_around_a_fall_back_do_not_depend_on_where_the_walk_starts(cron, zone, change):
    """croniter skipped 01:35-01:56 of Lord Howe's repeated half hour for */7 when walking from before it, and
    ran them when starting inside; walking backwards it lost fixed-hour slots of the first pass."""
    schedule = CronSchedule(cron, zone, len(cron.split()) == 6)
    reach = timedelta(minutes=40 if schedule.with_seconds else 180)
    low, high = change - reach, change + reach
    slots = assert_count_matches_slots(schedule, low, high)
    assert schedule.slots_newest_first(low, high, 10_000) == slots[::-1]
    for minutes in range(0, int(2 * reach.total_seconds() // 60), 7):
        moment = low + timedelta(minutes=minutes, seconds=31)
        assert schedule.slots(moment, high, 10_000) == [s for s in slots if s >= moment], moment
        assert schedule.slots_newest_first(low, moment, 10_000) == [s for s in slots if s <= moment][::-1], moment
