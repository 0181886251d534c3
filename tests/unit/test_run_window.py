"""A run window's hours, as a person writes them: open from `from` to `to` local time on `days`, overnight when `to`
is not after `from`, in the zone given (DST included); its next opening; and what it refuses, naming the field."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from backfill_core.schedules.run_window import RunWindow


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_night_window_in_paris_opens_and_closes_at_its_local_hours_across_dst():
    nights = RunWindow.model_validate({"from": "01:00", "to": "06:00", "timezone": "Europe/Paris"})
    assert nights.is_open(at("2024-03-30T00:30:00+00:00"))  # 01:30 in Paris (winter, +01:00)
    assert not nights.is_open(at("2024-03-30T05:00:00+00:00"))  # 06:00 in Paris: closed at `to`
    assert nights.is_open(at("2024-03-31T03:59:00+00:00"))  # 05:59 in Paris, the night clocks go forward
    assert not nights.is_open(at("2024-03-31T04:00:00+00:00"))  # 06:00 CEST
    assert nights.next_opening(at("2024-03-31T12:00:00+00:00")) == at("2024-04-01T01:00:00+02:00")
    assert nights.next_opening(at("2024-03-31T00:30:00+00:00")) is None  # open now


def test_an_overnight_window_runs_into_the_next_day_and_days_are_the_days_it_opens():
    weekend_nights = RunWindow.model_validate({"from": "22:00", "to": "06:00", "days": ["SATURDAY", "FRIDAY"]})
    assert weekend_nights.days == ["FRIDAY", "SATURDAY"]
    assert weekend_nights.is_open(at("2024-06-07T23:00:00+00:00"))  # Friday 23:00
    assert weekend_nights.is_open(at("2024-06-09T05:00:00+00:00"))  # Sunday 05:00: Saturday's night
    assert not weekend_nights.is_open(at("2024-06-09T22:30:00+00:00"))  # Sunday night: not a day it opens
    assert weekend_nights.next_opening(at("2024-06-09T10:00:00+00:00")) == at("2024-06-14T22:00:00+00:00")
    assert weekend_nights.in_zone("Asia/Tokyo").timezone == "Asia/Tokyo"
    assert RunWindow.model_validate({"from": "01:00", "to": "02:00", "timezone": "UTC"}).in_zone("X").timezone == "UTC"


@pytest.mark.parametrize(
    ("window", "field", "says"),
    [
        ({"from": "1:00", "to": "06:00"}, "from", "should match pattern"),
        ({"from": "01:00", "to": "24:00"}, "to", "should match pattern"),
        ({"from": "01:00", "to": "01:00"}, "", "would never close"),
        ({"from": "01:00", "to": "06:00", "days": ["MONDAI"]}, "days.0", "MONDAY"),
        ({"from": "01:00", "to": "06:00", "days": []}, "days", "at least 1"),
        ({"from": "01:00", "to": "06:00", "timezone": "Mars/Olympus"}, "timezone", "not an IANA time zone"),
        ({"from": "01:00"}, "to", "Field required"),
        ({"from": "01:00", "to": "06:00", "timezon": "UTC"}, "timezon", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_window_is_refused_naming_its_field(window, field, says):
    with pytest.raises(ValidationError) as refused:
        RunWindow.model_validate(window)
    (error,) = refused.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == field and says in error["msg"], error
