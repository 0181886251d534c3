"""Dates as Kestra writes and reads them: ISO-8601 with an offset, `Z` for UTC."""

import re
from datetime import UTC, datetime, timedelta
from typing import overload

# The dates a backfill may name. Python's datetime ends at years 1 and 9999, and a slot's neighbours (a
# second before the start, `trigger.previous` of the first slot) step past those ends; Kestra sets no bound
# (java.time), nor does DynamoDB (keys are strings; TTLs count from the time of writing). 1900 keeps a century
# of history to replay; before it most zones keep local mean time (offsets to the second), which nothing was
# scheduled in, and the IANA database vouches only for 1970 on. Over 1900-2030 the all-zone sweep finds counts
# and slots equal. Counting looks for a zone's offset changes once a day, which tzdata bears out: from 1900 to
# 2200 no zone changes twice within 4 days. An `end` is in the past besides; the upper bound keeps a slot's
# neighbours far from year 9999.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def supported(moment: datetime) -> datetime:
    """`moment` (UTC when it has no offset) if EARLIEST <= moment < LATEST, else a ValueError saying so."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError(
            f"{format_date(aware)} is outside the supported dates, {format_date(EARLIEST)} up to "
            f"{format_date(LATEST)} (excluded)"
        )
    return aware


def now() -> datetime:
    return datetime.now(UTC)


def parse_instant(value: str) -> datetime:
    """Parse an ISO-8601 date with an offset or `Z`; a date without one is taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@overload
def format_date(value: datetime) -> str: ...
@overload
def format_date(value: None) -> None: ...
@overload
def format_date(value: datetime | None) -> str | None: ...
def format_date(value: datetime | None) -> str | None:
    """ISO-8601 with seconds, milliseconds when there are any, and `Z` for a zero offset."""
    if value is None:
        return None
    timespec = "milliseconds" if value.microsecond >= 1000 else "seconds"
    text = value.isoformat(timespec=timespec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def storage_key(value: datetime) -> str:
    """A UTC string that sorts as the instants do: the form dates take in DynamoDB keys. The year is
    written with four digits (strftime's %Y gives 999, which sorts after 1000)."""
    utc = value.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S.%f}Z"


def from_storage_key(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def iso_duration(delta: timedelta) -> str:
    """Kestra's state.duration, e.g. PT2.345S."""
    millis = round(max(delta.total_seconds(), 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = rest / 1000
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    if secs or text == "PT":
        text += f"{secs:.3f}".rstrip("0").rstrip(".") + "S"
    return text


def parse_iso_duration(value: str) -> timedelta:
    """Kestra durations such as PT30S, PT5M, PT1H30M, P1D (the subset tasks use for timeouts)."""
    match = re.fullmatch(
        r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?", value.strip().upper()
    )
    if not match or value.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{value}' is not an ISO-8601 duration such as PT5M")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
