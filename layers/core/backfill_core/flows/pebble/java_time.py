"""Java's DateTimeFormatter patterns (`yyyy-MM-dd'T'HH:mm:ssXXX`) and Kestra's named formats, read and written.

Kestra's date filters take any of its patterns, render in the `timeZone` given (the server's zone, UTC, without
one) and read ISO strings, epoch seconds or `existingFormat`. Facts:
https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/time/format/DateTimeFormatter.html
https://kestra.io/docs/expressions#date
"""

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backfill_core.flows.pebble.limits import PebbleProblem

DEFAULT_ZONE = ZoneInfo("UTC")
"""Kestra formats in the server's zone when a template gives none; its servers run in UTC."""

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
QUARTERS = ("1st quarter", "2nd quarter", "3rd quarter", "4th quarter")

NAMED_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
    "iso_local_date": "yyyy-MM-dd",
    "iso_ordinal_date": "yyyy-DDDXXXXX",
}
_MOST_LETTERS = dict.fromkeys("GEMLQq", 5) | dict.fromkeys("yuDSnNA", 19) | dict.fromkeys("dHhKkmsa", 2)
_MOST_LETTERS |= {"a": 1, "D": 3, "S": 9, "z": 4, "V": 2, "O": 4, "X": 5, "x": 5, "Z": 5}


class DateProblem(PebbleProblem):
    """A date, pattern, zone or unit that Java would refuse too; the message names it."""


def zone(name: str | None) -> tzinfo:
    """Java's ZoneId.of: a region (`Europe/Paris`), `Z`, or an offset (`+02:00`, `UTC+2`)."""
    if name is None:
        return DEFAULT_ZONE
    offset = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if name == "Z" or offset:
        if not offset:
            return UTC
        sign = -1 if offset[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateProblem(f"unknown time zone '{name}'") from exc


def parse_pattern(pattern: str) -> list[tuple[str, int] | str]:
    """A Java pattern as letter runs (letter, count) and literal text; optional sections print in full."""
    parts: list[tuple[str, int] | str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = pattern.find("'", index + 1)
            if end < 0:
                raise DateProblem(f"the pattern '{pattern}' has an unclosed quote")
            parts.append(pattern[index + 1 : end] or "'")
            index = end + 1
        elif char.isascii() and char.isalpha():
            count = len(pattern) - index - len(pattern[index:].lstrip(char))
            if char not in _MOST_LETTERS:
                raise DateProblem(f"the pattern letter '{char}' of '{pattern}' is not supported")
            if count > _MOST_LETTERS[char]:
                raise DateProblem(f"too many pattern letters '{char * count}' in '{pattern}'")
            parts.append((char, count))
            index += count
        elif char in "#{}":
            raise DateProblem(f"the pattern character '{char}' of '{pattern}' is reserved")
        else:
            if char not in "[]":
                parts.append(char)
            index += 1
    return parts


def _offset(moment: datetime, colons: bool, seconds: bool = True, short: bool = False) -> str:
    total = int((moment.utcoffset() or timedelta()).total_seconds())
    sign, total = ("-" if total < 0 else "+"), abs(total)
    hours, minutes, secs = total // 3600, total // 60 % 60, total % 60
    separator = ":" if colons else ""
    text = f"{sign}{hours:02d}" + ("" if short and not minutes else f"{separator}{minutes:02d}")
    return text + (f"{separator}{secs:02d}" if seconds and secs else "")


def _zero_offset(moment: datetime) -> bool:
    return not (moment.utcoffset() or timedelta())


def _field(moment: datetime, letter: str, count: int) -> str:
    if letter in "yu":
        return f"{moment.year % 100:02d}" if count == 2 else str(moment.year).zfill(count)
    if letter in "ML":
        return (str(moment.month).zfill(count), MONTHS[moment.month - 1][:3], MONTHS[moment.month - 1],
                MONTHS[moment.month - 1][0])[max(count - 2, 0)]  # fmt: skip
    if letter == "E":
        name = DAYS[moment.weekday()]
        return name if count == 4 else name[0] if count == 5 else name[:3]
    if letter in "Qq":
        quarter = (moment.month - 1) // 3 + 1
        return (str(quarter).zfill(count), f"Q{quarter}", QUARTERS[quarter - 1], str(quarter))[max(count - 2, 0)]
    if letter == "S":
        return f"{moment.microsecond:06d}000"[:count]
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "G":
        return ("AD", "Anno Domini", "A")[max(count - 3, 0)]
    if letter in "VzOXxZ":
        return _zone_field(moment, letter, count)
    numbers = {
        "d": moment.day,
        "D": moment.timetuple().tm_yday,
        "H": moment.hour,
        "h": moment.hour % 12 or 12,
        "K": moment.hour % 12,
        "k": moment.hour or 24,
        "m": moment.minute,
        "s": moment.second,
        "n": moment.microsecond * 1000,
        "N": ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 10**9 + moment.microsecond * 1000,
        "A": ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1000 + moment.microsecond // 1000,
    }
    return str(numbers[letter]).zfill(count)


def _zone_field(moment: datetime, letter: str, count: int) -> str:
    region = getattr(moment.tzinfo, "key", None)
    if letter == "V":
        if count != 2:
            raise DateProblem("the pattern letter 'V' must be 'VV'")
        return region or ("Z" if _zero_offset(moment) else _offset(moment, colons=True))
    if letter == "z":
        if count == 4:
            raise DateProblem("the full zone name 'zzzz' is not supported; use 'VV' or 'z'")
        return (moment.tzname() or "Z") if region else ("Z" if _zero_offset(moment) else _offset(moment, True))
    if letter == "O" or (letter == "Z" and count == 4):
        if _zero_offset(moment):
            return "GMT"
        if letter == "O" and count == 1:
            total = int((moment.utcoffset() or timedelta()).total_seconds())
            hours, minutes = divmod(abs(total) // 60, 60)
            return f"GMT{'-' if total < 0 else '+'}{hours}" + (f":{minutes:02d}" if minutes else "")
        return "GMT" + _offset(moment, colons=True)
    if letter == "Z":
        if count == 5:
            return "Z" if _zero_offset(moment) else _offset(moment, colons=True)
        return _offset(moment, colons=False, seconds=False)
    if letter == "X" and _zero_offset(moment):
        return "Z"
    return _offset(moment, colons=count in (3, 5), seconds=count >= 4, short=count == 1)


def _fraction(moment: datetime, grouped: bool) -> str:
    digits = f"{moment.microsecond:06d}"
    if grouped:
        return "" if not moment.microsecond else "." + (digits[:3] if digits.endswith("000") else digits)
    return "." + digits.rstrip("0") if moment.microsecond else ""


def _iso(moment: datetime, name: str) -> str | None:
    """The java.time.format.DateTimeFormatter.ISO_* constants Kestra names (`iso_date_time`, ...)."""
    local_date, clock = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S") + _fraction(moment, False)
    offset = "Z" if _zero_offset(moment) else _offset(moment, colons=True)
    region = f"[{moment.tzinfo.key}]" if isinstance(moment.tzinfo, ZoneInfo) else ""
    year, week, weekday = moment.isocalendar()
    formats = {
        "iso_local_time": clock,
        "iso_local_date_time": f"{local_date}T{clock}",
        "iso_date": local_date + offset,
        "iso_time": clock + offset,
        "iso_offset_time": clock + offset,
        "iso_offset_date_time": f"{local_date}T{clock}{offset}",
        "iso_date_time": f"{local_date}T{clock}{offset}{region}",
        "iso_zoned_date_time": f"{local_date}T{clock}{offset}{region}",
        "iso_week_date": f"{year}-W{week:02d}-{weekday}{offset}",
        "iso_instant": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + _fraction(moment, True) + "Z",
    }
    if name == "rfc_1123_date_time":
        return f"{DAYS[moment.weekday()][:3]}, {moment.day} {MONTHS[moment.month - 1][:3]} {moment.year} " + (
            moment.strftime("%H:%M:%S") + (" GMT" if _zero_offset(moment) else " " + _offset(moment, False, False))
        )
    return formats.get(name)


def format_date(moment: datetime, pattern: str = "iso", zone_name: str | None = None, locale: str | None = None) -> str:
    """The moment in `zone_name` (UTC by default) written with a Java pattern or one of Kestra's names."""
    if locale is not None and not re.match(r"en(?:[_-]|$)", locale):
        raise DateProblem(f"the locale '{locale}' is not supported: names are written in English")
    if pattern in ("full", "long", "medium", "short"):
        raise DateProblem(f"the localized format '{pattern}' is not supported; use a pattern such as 'yyyy-MM-dd'")
    moment = moment.astimezone(zone(zone_name))
    if (named := _iso(moment, pattern)) is not None:
        return named
    parts = parse_pattern(NAMED_PATTERNS.get(pattern, pattern))
    return "".join(part if isinstance(part, str) else _field(moment, *part) for part in parts)
