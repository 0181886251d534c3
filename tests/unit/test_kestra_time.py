"""Dates and durations as Kestra writes and reads them."""

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from backfill_core.schedules.kestra_time import (
    format_date,
    from_storage_key,
    iso_duration,
    parse_instant,
    parse_iso_duration,
    storage_key,
)

# --- format_date ------------------------------------------------------------------------------------


def test_format_date_writes_z_for_utc():
    assert format_date(datetime(2024, 3, 28, 6, 30, tzinfo=UTC)) == "2024-03-28T06:30:00Z"


def test_format_date_writes_z_for_any_zero_offset():
    assert format_date(datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/London"))) == "2024-01-01T00:00:00Z"
    assert format_date(datetime(2024, 1, 1, tzinfo=timezone(timedelta(0)))) == "2024-01-01T00:00:00Z"


def test_format_date_keeps_other_offsets():
    assert format_date(datetime(2024, 3, 28, 8, 30, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-03-28T08:30:00+02:00"
    )
    assert format_date(datetime(2024, 3, 28, 1, 0, tzinfo=timezone(-timedelta(hours=5, minutes=30)))) == (
        "2024-03-28T01:00:00-05:30"
    )


def test_format_date_keeps_a_zone_offset_in_summer():
    assert format_date(datetime(2024, 7, 10, 9, tzinfo=ZoneInfo("Europe/Paris"))) == "2024-07-10T09:00:00+02:00"


def test_format_date_writes_milliseconds_only_when_present():
    assert format_date(datetime(2024, 3, 28, 6, 30, 0, 123456, tzinfo=UTC)) == "2024-03-28T06:30:00.123Z"
    assert format_date(datetime(2024, 3, 28, 6, 30, 0, 100000, tzinfo=UTC)) == "2024-03-28T06:30:00.100Z"
    assert format_date(datetime(2024, 3, 28, 6, 30, 5, tzinfo=UTC)) == "2024-03-28T06:30:05Z"


def test_format_date_of_none_is_none():
    assert format_date(None) is None


# --- parse_instant ----------------------------------------------------------------------------------


def test_parse_instant_reads_z_as_utc():
    parsed = parse_instant("2024-03-28T06:30:00Z")

    assert parsed == datetime(2024, 3, 28, 6, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_instant_reads_a_lowercase_z():
    assert parse_instant("2024-03-28T06:30:00z") == datetime(2024, 3, 28, 6, 30, tzinfo=UTC)


def test_parse_instant_keeps_the_offset_and_the_instant():
    parsed = parse_instant("2024-03-28T08:30:00+02:00")

    assert parsed == datetime(2024, 3, 28, 6, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=2)


def test_parse_instant_takes_a_naive_date_as_utc():
    parsed = parse_instant("2024-03-28T06:30:00")

    assert parsed == datetime(2024, 3, 28, 6, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_instant_reads_fractions_and_surrounding_spaces():
    assert parse_instant(" 2024-03-28T06:30:00.123Z ") == datetime(2024, 3, 28, 6, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("text", ["garbage", "28/03/2024 06:30", ""])
def test_parse_instant_refuses_non_iso_text(text):
    with pytest.raises(ValueError):
        parse_instant(text)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 3, 28, 6, 30, tzinfo=UTC),
        datetime(2024, 3, 28, 6, 30, 0, 250000, tzinfo=UTC),
        datetime(2024, 3, 28, 8, 30, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_format_then_parse_round_trips(moment):
    assert parse_instant(format_date(moment)) == moment


# --- storage keys -----------------------------------------------------------------------------------


def test_storage_keys_are_utc_and_sort_as_the_instants():
    moments = [
        datetime(2024, 3, 28, 8, 30, tzinfo=timezone(timedelta(hours=2))),  # 06:30Z
        datetime(2024, 3, 28, 6, 0, tzinfo=UTC),
        datetime(2024, 3, 28, 6, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 3, 28, 1, 0, tzinfo=timezone(-timedelta(hours=5))),  # 06:00Z again
    ]

    keys = [storage_key(m) for m in moments]

    assert storage_key(moments[0]) == "2024-03-28T06:30:00.000000Z"
    assert sorted(keys) == [storage_key(m) for m in sorted(moments)]
    assert [from_storage_key(k) for k in keys] == moments


# --- iso_duration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(seconds=2.345), "PT2.345S"),
        (timedelta(seconds=5), "PT5S"),
        (timedelta(seconds=0.5), "PT0.5S"),
        (timedelta(minutes=5), "PT5M"),
        (timedelta(minutes=5, seconds=3), "PT5M3S"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(hours=1, seconds=0.5), "PT1H0.5S"),
        (timedelta(days=1), "PT24H"),  # like java.time.Duration, no days
    ],
)
def test_iso_duration(delta, text):
    assert iso_duration(delta) == text


def test_iso_duration_of_a_negative_delta_is_zero():
    assert iso_duration(timedelta(seconds=-3)) == "PT0S"


@pytest.mark.parametrize("delta", [timedelta(seconds=2.345), timedelta(hours=2, minutes=1, seconds=7.5)])
def test_iso_duration_parses_back(delta):
    assert parse_iso_duration(iso_duration(delta)) == delta


@pytest.mark.parametrize(
    "delta",
    [timedelta(seconds=59, microseconds=999600), timedelta(minutes=59, seconds=59, microseconds=999600)],
)
def test_iso_duration_never_writes_sixty_seconds(delta):
    text = iso_duration(delta)

    seconds = re.search(r"([\d.]+)S$", text)
    assert seconds is None or float(seconds.group(1)) < 60, text
    assert abs(parse_iso_duration(text) - delta) <= timedelta(milliseconds=1)


# --- parse_iso_duration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("PT5M", timedelta(minutes=5)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1D", timedelta(days=1)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("PT30S", timedelta(seconds=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        (" PT1S ", timedelta(seconds=1)),
    ],
)
def test_parse_iso_duration(text, delta):
    assert parse_iso_duration(text) == delta


@pytest.mark.parametrize("text", ["5 minutes", "P", "PT", "", "5M", "PT5", "T5M", "PT1M2H"])
def test_parse_iso_duration_refuses_non_durations(text):
    with pytest.raises(ValueError) as caught:
        parse_iso_duration(text)

    assert f"'{text}'" in str(caught.value)
    assert "PT5M" in str(caught.value)


def test_storage_keys_of_years_before_1000_are_zero_padded_and_sort_as_the_instants():
    """strftime's %Y wrote 999 for year 999, which sorts after 1000: a slots page of such years read no slot
    record in its key range and showed finished slots as CANCELLED."""
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    moments += [datetime(1000, 1, 1, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)]
    keys = [storage_key(m) for m in moments]
    assert sorted(keys) == keys
    assert keys[1] == "0999-12-31T23:59:59.000000Z"
    assert [from_storage_key(k) for k in keys] == moments
