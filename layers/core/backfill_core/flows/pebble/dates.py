"""Kestra's date filters and `now()`: `date`, `dateAdd`, `timestamp`, `timestampMilli`, `timestampMicro`,
`timestampNano`, with Kestra's argument names (`format`, `timeZone`, `existingFormat`, `locale`).
Facts: https://kestra.io/docs/expressions/filters/dates
"""

import re
from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from backfill_core.flows.pebble.java_time import (
    DAYS,
    MONTHS,
    NAMED_PATTERNS,
    DateProblem,
    format_date,
    parse_pattern,
    zone,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME_UNITS = {"NANOS": 1e-9, "MICROS": 1e-6, "MILLIS": 1e-3, "SECONDS": 1, "MINUTES": 60, "HOURS": 3600,
               "HALF_DAYS": 43200}  # fmt: skip
_DAY_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}
_UNITS = ", ".join([*_TIME_UNITS, *_DAY_UNITS, *_MONTH_UNITS])
_READ_PATTERNS = {"rfc_1123_date_time": "EEE, d MMM yyyy HH:mm:ss Z"}
"""Kestra's ISO and SQL names are read as ISO text (a space may stand for the 'T'); RFC 1123 by its pattern."""
_ISO_DATE = re.compile(r"[+-]?\d{4,}-\d{2}-\d{2}")
_ZONED = re.compile(r"(?P<moment>[^\[]+)(?:\[(?P<zone>[^\]]+)\])?")


def read_date(value: object, zone_name: str | None = None, existing_format: str | None = None) -> datetime:
    """A date as Kestra reads one: a date-time with its zone or offset, a local date-time in the zone given, a date
    at the start of its day, epoch seconds; or text in `existing_format`."""
    where = zone(zone_name)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=where)
    if isinstance(value, date):
        return datetime.combine(value, time(12), where)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, where)
    if not isinstance(value, str):
        raise DateProblem(f"cannot read {type(value).__name__} '{value}' as a date")
    if existing_format is not None and not existing_format.startswith(("iso", "sql")):
        pattern = _READ_PATTERNS.get(existing_format) or NAMED_PATTERNS.get(existing_format, existing_format)
        return _parse_with_pattern(value, pattern, where)
    zoned = _ZONED.fullmatch(value.strip())
    try:
        if zoned is None:
            raise ValueError(value)
        if _ISO_DATE.fullmatch(zoned["moment"]):
            return datetime.combine(date.fromisoformat(zoned["moment"]), time(0), where)
        moment = datetime.fromisoformat(zoned["moment"])
    except ValueError as exc:
        raise DateProblem(f"cannot read '{value}' as an ISO date (give existingFormat to read another)") from exc
    if zoned["zone"]:
        named = zone(zoned["zone"])
        return moment.astimezone(named) if moment.tzinfo else moment.replace(tzinfo=named)
    return moment if moment.tzinfo else moment.replace(tzinfo=where)


_OFFSET = r"Z|GMT|[+-]\d{2}(?::?\d{2}){0,2}|GMT[+-]\d{1,2}(?::\d{2})?"


def _field_pattern(letter: str, count: int) -> str:
    if letter in "ML" and count >= 3:
        return "|".join(month if count == 4 else month[:3] for month in MONTHS)
    if letter == "E":
        return "|".join(day if count == 4 else day[:3] for day in DAYS)
    if letter == "a":
        return "AM|PM|am|pm"
    if letter in "XxZO":
        return _OFFSET
    if letter in "Vz":
        return r"[A-Za-z][\w/+\-]*"
    if letter in "yu" and count != 2:
        return rf"[+-]?\d{{{max(count, 1)},}}"
    return r"\d+" if count == 1 else rf"\d{{{count}}}"


def _parse_with_pattern(text: str, pattern: str, where: tzinfo) -> datetime:
    regex, letters = "", list[tuple[str, int]]()
    for part in parse_pattern(pattern):
        if isinstance(part, str):
            regex += re.escape(part)
        else:
            regex += f"(?P<g{len(letters)}>{_field_pattern(*part)})"
            letters.append(part)
    match = re.fullmatch(regex, text.strip())
    if match is None:
        raise DateProblem(f"'{text}' does not match the format '{pattern}'")
    found = {letter: (match[f"g{index}"], count) for index, (letter, count) in enumerate(letters)}
    return _assemble(found, text, pattern, where)


def _assemble(found: dict[str, tuple[str, int]], text: str, pattern: str, where: tzinfo) -> datetime:
    def number(*names: str, default: int | None = None) -> int | None:
        for name in names:
            if name in found:
                return int(found[name][0])
        return default

    month_text, month_count = found.get("M") or found.get("L") or ("", 0)
    month = number("M", "L") if month_count < 3 else [m[: len(month_text)] for m in MONTHS].index(month_text) + 1
    year = number("y", "u")
    if year is not None and found.get("y", found.get("u", ("", 0)))[1] == 2:
        year += 2000
    day = number("d")
    if year is None or month is None or day is None:
        raise DateProblem(f"the format '{pattern}' does not give a whole date for '{text}'")
    hour = number("H", "k", default=None)
    if hour is None:
        hour = (number("h", "K", default=0) or 0) % 12 + (12 if found.get("a", ("",))[0].upper() == "PM" else 0)
    fraction = found.get("S", ("0", 1))[0]
    where_found = next((found[letter][0] for letter in "XxZOVz" if letter in found), None)
    tz = where if where_found is None else zone("Z" if where_found == "GMT" else where_found.removeprefix("GMT"))
    try:
        return datetime(year, month, day, hour % 24, number("m", default=0) or 0, number("s", default=0) or 0,
                        int(fraction[:6].ljust(6, "0")), tzinfo=tz)  # fmt: skip
    except ValueError as exc:
        raise DateProblem(f"'{text}' is not a date in the format '{pattern}': {exc}") from exc


def add(moment: datetime, amount: Any, unit: Any) -> datetime:
    """ZonedDateTime.plus: time units move the instant, date units the local date-time (kept in its zone)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DateProblem(f"dateAdd's amount must be a whole number, not '{amount}'")
    try:
        if unit in _TIME_UNITS:
            later = moment.astimezone(UTC) + timedelta(seconds=amount * _TIME_UNITS[unit])
            return later.astimezone(moment.tzinfo)
        local = moment.replace(tzinfo=None)
        if unit in _DAY_UNITS:
            local += timedelta(days=amount * _DAY_UNITS[unit])
        elif unit in _MONTH_UNITS:
            year, month = divmod(local.year * 12 + local.month - 1 + amount * _MONTH_UNITS[unit], 12)
            local = local.replace(year=year, month=month + 1, day=min(local.day, monthrange(year, month + 1)[1]))
        else:
            raise DateProblem(f"dateAdd's unit '{unit}' is not one of {_UNITS}")
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, DateProblem):
            raise
        raise DateProblem(f"dateAdd({amount}, '{unit}') goes past the dates a calendar can hold") from exc
    resolved = local.replace(tzinfo=moment.tzinfo, fold=0)
    if local.replace(tzinfo=moment.tzinfo, fold=1).utcoffset() == moment.utcoffset():
        resolved = local.replace(tzinfo=moment.tzinfo, fold=1)
    return resolved.astimezone(UTC).astimezone(moment.tzinfo)  # a time in a DST gap moves on by the gap


def date_filter(value, format="iso", timeZone=None, existingFormat=None, locale=None):  # noqa: A002, N803 - Kestra's names
    if value is None:
        return None
    return format_date(read_date(value, timeZone, existingFormat), format, timeZone, locale)


def date_add(value, amount, unit, format="iso", timeZone=None, existingFormat=None, locale=None):  # noqa: A002, N803
    if value is None:
        return None
    return format_date(add(read_date(value, timeZone, existingFormat), amount, unit), format, timeZone, locale)


def _since_epoch(value: Any, zone_name: str | None, existing_format: str | None) -> timedelta:
    return read_date(value, zone_name, existing_format) - EPOCH


def timestamp(value, timeZone=None, existingFormat=None):  # noqa: N803 - Kestra's names
    return None if value is None else _since_epoch(value, timeZone, existingFormat) // timedelta(seconds=1)


def timestamp_milli(value, timeZone=None, existingFormat=None):  # noqa: N803 - Kestra's names
    return None if value is None else _since_epoch(value, timeZone, existingFormat) // timedelta(milliseconds=1)


def timestamp_micro(value, timeZone=None, existingFormat=None):  # noqa: N803 - Kestra's names
    return None if value is None else _since_epoch(value, timeZone, existingFormat) // timedelta(microseconds=1)


def timestamp_nano(value, timeZone=None, existingFormat=None):  # noqa: N803 - Kestra's names
    return None if value is None else _since_epoch(value, timeZone, existingFormat) // timedelta(microseconds=1) * 1000


def now(format="iso", timeZone=None, existingFormat=None, locale=None):  # noqa: A002, N803 - Kestra's names
    return format_date(datetime.now(UTC), format, timeZone, locale)


FILTERS = {
    "date": date_filter,
    "dateAdd": date_add,
    "timestamp": timestamp,
    "timestampMilli": timestamp_milli,
    "timestampMicro": timestamp_micro,
    "timestampNano": timestamp_nano,
}
