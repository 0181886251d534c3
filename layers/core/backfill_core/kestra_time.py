"""Dates as Kestra writes and reads them: ISO-8601 with an offset, `Z` for UTC."""

import re
from datetime import UTC, datetime, timedelta


def now() -> datetime:
    return datetime.now(UTC)


def parse_instant(value: str) -> datetime:
    """Parse an ISO-8601 date with an offset or `Z`; a date without one is taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_date(value: datetime | None) -> str | None:
    """ISO-8601 with seconds, milliseconds when there are any, and `Z` for a zero offset."""
    if value is None:
        return None
    timespec = "milliseconds" if value.microsecond >= 1000 else "seconds"
    text = value.isoformat(timespec=timespec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def storage_key(value: datetime) -> str:
    """A UTC string that sorts as the instants do: the form dates take in DynamoDB keys."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
