"""CronSchedule: which slots a Schedule trigger has in a window, in the trigger's timezone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backfill_core.schedules.cron import CronError, CronSchedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


HALF_HOURLY = "*/30 * * * *"
UNBOUNDED = 10_000


# --- the seed window --------------------------------------------------------------------------------


def test_seed_window_has_eleven_half_hour_slots_start_and_end_inclusive():
    slots = CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 11, 30), UNBOUNDED)

    assert len(slots) == 11
    assert slots == [utc(2024, 3, 28, 6, 30) + timedelta(minutes=30 * i) for i in range(11)]
    assert slots[0] == utc(2024, 3, 28, 6, 30)
    assert slots[-1] == utc(2024, 3, 28, 11, 30)


def test_slots_are_returned_in_utc_oldest_first():
    slots = CronSchedule("0 9 * * *", "Europe/Paris").slots(utc(2024, 1, 1), utc(2024, 1, 5), UNBOUNDED)

    assert all(slot.utcoffset() == timedelta(0) for slot in slots)
    assert slots == sorted(slots)


def test_start_off_a_slot_begins_at_the_next_slot():
    slots = CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 31), utc(2024, 3, 28, 8, 0), UNBOUNDED)

    assert slots == [utc(2024, 3, 28, 7, 0), utc(2024, 3, 28, 7, 30), utc(2024, 3, 28, 8, 0)]


def test_end_off_a_slot_stops_at_the_last_slot_before_it():
    slots = CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 59, 59), UNBOUNDED)

    assert slots == [utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 0), utc(2024, 3, 28, 7, 30)]


def test_start_a_fraction_of_a_second_after_a_slot_skips_that_slot():
    start = utc(2024, 3, 28, 6, 30, 0) + timedelta(microseconds=500_000)

    slots = CronSchedule(HALF_HOURLY).slots(start, utc(2024, 3, 28, 7, 30), UNBOUNDED)

    assert slots == [utc(2024, 3, 28, 7, 0), utc(2024, 3, 28, 7, 30)]


def test_start_a_fraction_of_a_second_before_a_slot_includes_that_slot():
    start = utc(2024, 3, 28, 6, 29, 59) + timedelta(microseconds=999_999)

    slots = CronSchedule(HALF_HOURLY).slots(start, utc(2024, 3, 28, 7, 0), UNBOUNDED)

    assert slots == [utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 0)]


def test_start_with_an_offset_is_the_same_instant_as_in_utc():
    paris_summer = timezone(timedelta(hours=2))

    slots = CronSchedule(HALF_HOURLY).slots(
        datetime(2024, 3, 28, 8, 30, tzinfo=paris_summer), utc(2024, 3, 28, 7, 0), UNBOUNDED
    )

    assert slots == [utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 0)]


def test_start_after_end_gives_no_slot():
    assert CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 8), utc(2024, 3, 28, 7), UNBOUNDED) == []


# --- limit ------------------------------------------------------------------------------------------


def test_limit_bounds_the_result_to_the_oldest_slots():
    slots = CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 11, 30), 3)

    assert slots == [utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 0), utc(2024, 3, 28, 7, 30)]


def test_limit_zero_gives_no_slot():
    assert CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 11, 30), 0) == []


def test_limit_larger_than_the_window_gives_the_whole_window():
    slots = CronSchedule(HALF_HOURLY).slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7, 30), 50)

    assert len(slots) == 3


def test_limit_keeps_a_huge_window_cheap():
    slots = CronSchedule("* * * * *").slots(utc(2000, 1, 1), utc(2100, 1, 1), 5)

    assert slots == [utc(2000, 1, 1, 0, i) for i in range(5)]


# --- timezone ---------------------------------------------------------------------------------------


def test_nine_oclock_in_paris_is_eight_utc_in_winter():
    slots = CronSchedule("0 9 * * *", "Europe/Paris").slots(utc(2024, 1, 10), utc(2024, 1, 11), UNBOUNDED)

    assert slots == [utc(2024, 1, 10, 8, 0)]


def test_nine_oclock_in_paris_is_seven_utc_in_summer():
    slots = CronSchedule("0 9 * * *", "Europe/Paris").slots(utc(2024, 7, 10), utc(2024, 7, 11), UNBOUNDED)

    assert slots == [utc(2024, 7, 10, 7, 0)]


def test_daily_slot_in_paris_moves_one_hour_earlier_in_utc_across_spring_forward():
    slots = CronSchedule("0 9 * * *", "Europe/Paris").slots(utc(2024, 3, 30), utc(2024, 4, 1, 23), UNBOUNDED)

    assert slots == [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7), utc(2024, 4, 1, 7)]


def test_hourly_cron_in_paris_fires_once_per_real_hour_across_daylight_saving_changes():
    schedule = CronSchedule("0 * * * *", "Europe/Paris")

    autumn = schedule.slots(utc(2024, 10, 26, 23), utc(2024, 10, 27, 4), UNBOUNDED)
    spring = schedule.slots(utc(2024, 3, 30, 23), utc(2024, 3, 31, 4), UNBOUNDED)

    assert autumn == [utc(2024, 10, 26, 23) + timedelta(hours=i) for i in range(6)]
    assert spring == [utc(2024, 3, 30, 23) + timedelta(hours=i) for i in range(6)]


def test_local_gives_the_moment_in_the_trigger_zone():
    local = CronSchedule("0 9 * * *", "Europe/Paris").local(utc(2024, 7, 10, 7))

    assert (local.hour, local.utcoffset()) == (9, timedelta(hours=2))


def test_invalid_timezone_is_a_cron_error_that_starts_with_timezone():
    with pytest.raises(CronError) as caught:
        CronSchedule("0 * * * *", "Mars/Olympus")

    assert str(caught.value).startswith("timezone")
    assert "Mars/Olympus" in str(caught.value)


@pytest.mark.parametrize("name", ["", "Not a zone", "../etc/passwd", "Europe/"])
def test_malformed_timezone_names_are_cron_errors_about_the_timezone(name):
    with pytest.raises(CronError, match="^timezone"):
        CronSchedule("0 * * * *", name)


# --- seconds ----------------------------------------------------------------------------------------


def test_six_field_cron_with_seconds_puts_seconds_first():
    schedule = CronSchedule("15 */30 * * * *", with_seconds=True)

    slots = schedule.slots(utc(2024, 3, 28, 6, 0), utc(2024, 3, 28, 7, 0), UNBOUNDED)

    assert slots == [utc(2024, 3, 28, 6, 0, 15), utc(2024, 3, 28, 6, 30, 15)]


def test_seconds_cron_start_on_a_slot_is_inclusive_and_a_fraction_after_is_not():
    schedule = CronSchedule("*/10 * * * * *", with_seconds=True)
    end = utc(2024, 3, 28, 6, 0, 30)

    on_slot = schedule.slots(utc(2024, 3, 28, 6, 0, 10), end, UNBOUNDED)
    just_after = schedule.slots(utc(2024, 3, 28, 6, 0, 10) + timedelta(microseconds=1), end, UNBOUNDED)

    assert on_slot == [utc(2024, 3, 28, 6, 0, 10), utc(2024, 3, 28, 6, 0, 20), utc(2024, 3, 28, 6, 0, 30)]
    assert just_after == [utc(2024, 3, 28, 6, 0, 20), utc(2024, 3, 28, 6, 0, 30)]


def test_six_field_cron_without_with_seconds_is_refused_with_a_hint():
    with pytest.raises(CronError) as caught:
        CronSchedule("0 0 * * * *")

    message = str(caught.value)
    assert "withSeconds" in message
    assert "6" in message


def test_five_field_cron_with_with_seconds_is_refused():
    with pytest.raises(CronError, match="6 fields"):
        CronSchedule("* * * * *", with_seconds=True)


@pytest.mark.parametrize("cron", ["* * * *", "* * * * * * *", "*", ""])
def test_wrong_field_counts_are_refused_with_the_count(cron):
    with pytest.raises(CronError) as caught:
        CronSchedule(cron)

    assert f"it has {len(cron.split())}" in str(caught.value)
    assert "withSeconds" not in str(caught.value)


@pytest.mark.parametrize("cron", ["61 * * * *", "* 25 * * *", "* * 32 * *", "* * * 13 *", "a b c d e"])
def test_out_of_range_or_garbage_fields_are_refused(cron):
    with pytest.raises(CronError, match="not a valid cron"):
        CronSchedule(cron)


def test_surrounding_whitespace_is_ignored():
    schedule = CronSchedule("  */30 * * * *\n")

    assert schedule.slots(utc(2024, 3, 28, 6, 30), utc(2024, 3, 28, 7), UNBOUNDED) == [
        utc(2024, 3, 28, 6, 30),
        utc(2024, 3, 28, 7, 0),
    ]


# --- nicknames --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nickname", "expected"),
    [
        ("@hourly", [utc(2024, 3, 28, 1), utc(2024, 3, 28, 2)]),
        ("@daily", [utc(2024, 3, 29), utc(2024, 3, 30)]),
        ("@midnight", [utc(2024, 3, 29), utc(2024, 3, 30)]),
        ("@weekly", [utc(2024, 3, 31), utc(2024, 4, 7)]),  # Sundays
        ("@monthly", [utc(2024, 4, 1), utc(2024, 5, 1)]),
        ("@yearly", [utc(2025, 1, 1), utc(2026, 1, 1)]),
        ("@annually", [utc(2025, 1, 1), utc(2026, 1, 1)]),
    ],
)
def test_nicknames_give_their_slots(nickname, expected):
    slots = CronSchedule(nickname).slots(utc(2024, 3, 28, 0, 30), utc(2030, 1, 1), 2)

    assert slots == expected


def test_nickname_daily_respects_the_timezone():
    slots = CronSchedule("@daily", "Europe/Paris").slots(utc(2024, 1, 10), utc(2024, 1, 11), UNBOUNDED)

    assert slots == [utc(2024, 1, 10, 23)]


@pytest.mark.parametrize("nickname", ["@often", "@reboot", "@every_5m", "@"])
def test_unknown_nicknames_are_refused_listing_the_known_ones(nickname):
    with pytest.raises(CronError) as caught:
        CronSchedule(nickname)

    assert nickname in str(caught.value)
    assert "@daily" in str(caught.value)


# --- neighbours -------------------------------------------------------------------------------------


def test_next_after_is_strict_on_a_slot():
    assert CronSchedule(HALF_HOURLY).next_after(utc(2024, 3, 28, 7, 0)) == utc(2024, 3, 28, 7, 30)


def test_previous_before_is_strict_on_a_slot():
    assert CronSchedule(HALF_HOURLY).previous_before(utc(2024, 3, 28, 7, 0)) == utc(2024, 3, 28, 6, 30)


def test_neighbours_between_slots():
    schedule = CronSchedule(HALF_HOURLY)
    moment = utc(2024, 3, 28, 7, 10)

    assert schedule.next_after(moment) == utc(2024, 3, 28, 7, 30)
    assert schedule.previous_before(moment) == utc(2024, 3, 28, 7, 0)


def test_neighbours_are_instants_in_utc_shown_in_the_trigger_zone_by_local():
    schedule = CronSchedule("0 9 * * *", "Europe/Paris")

    following = schedule.next_after(utc(2024, 7, 10, 7))
    preceding = schedule.previous_before(utc(2024, 7, 10, 7))

    assert following == utc(2024, 7, 11, 7)
    assert preceding == utc(2024, 7, 9, 7)
    assert following.utcoffset() == timedelta(0)
    assert schedule.local(following).utcoffset() == timedelta(hours=2)
