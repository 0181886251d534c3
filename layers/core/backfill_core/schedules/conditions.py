"""A Schedule trigger's `conditions`, as Kestra evaluates them on each slot's date in the trigger's timezone.

Each condition becomes a rule that says, for one local day at one UTC offset, which seconds of that day it keeps
(a few inclusive ranges). The day conditions (DayWeek, DayWeekInMonth, Weekend) keep a day whole or not at all;
TimeBetween and DateTimeBetween keep a range of it; Not and Or combine them. The schedule steps with it (skipping
to the next kept range, never slot by slot) and the exact count intersects the cron's times of day with the kept
ranges day by day: the live schedule, a backfill and its dry run leave out the same slots. Every other condition
type, and every property of a condition beside these, is refused with its path.

Kestra's bounds are exclusive (`isAfter`, `isBefore`): a slot exactly on `after` or `before` is left out.
DateTimeBetween compares instants; TimeBetween compares java.time.OffsetTime values, i.e. local time of day
less its offset, without wrapping around midnight (OffsetTime.compareTo), the slot's offset being its zone's.
"""

from calendar import monthrange
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backfill_core.schedules.kestra_time import supported

Seconds = list[tuple[int, int]]  # sorted, disjoint, inclusive ranges of seconds of a local day
LAST_SECOND = 86_399
WHOLE: Seconds = [(0, LAST_SECOND)]
MICRO = timedelta(microseconds=1)

PREFIXES = ("io.kestra.plugin.core.condition.", "io.kestra.core.models.conditions.types.")
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# Which days of the month hold the n-th given weekday: the first seven, the next seven, ... or the last seven.
IN_MONTH = {"FIRST": (1, 7), "SECOND": (8, 14), "THIRD": (15, 21), "FOURTH": (22, 28)}
TRIGGER_DATE = "{{ trigger.date }}"
MAX_DEPTH = 8


class ConditionError(ValueError):
    """A condition that cannot be evaluated here; the message starts with its path."""


def _intersect(a: Seconds, b: Seconds) -> Seconds:
    found, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            found.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found


def _union(parts: Sequence[Seconds]) -> Seconds:
    merged: Seconds = []
    for low, high in sorted(r for part in parts for r in part):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _complement(kept: Seconds) -> Seconds:
    found, low = [], 0
    for start, end in kept:
        if start > low:
            found.append((low, start - 1))
        low = end + 1
    return [*found, (low, LAST_SECOND)] if low <= LAST_SECOND else found


def _between(after: timedelta | None, before: timedelta | None) -> Seconds:
    """The whole seconds s of a day with after < s < before, each bound measured from the day's midnight."""
    low = 0 if after is None else max(0, after // timedelta(seconds=1) + 1)
    high = LAST_SECOND if before is None else min(LAST_SECOND, -(-before // timedelta(seconds=1)) - 1)
    return [(low, high)] if low <= high else []


class SlotRule:
    """Which seconds of a local day, at a given offset, a condition keeps; `by_day` when it keeps whole days."""

    by_day = False
    after: datetime | None = None  # instants this rule leaves out whatever the day (DateTimeBetween's bounds)
    before: datetime | None = None

    def kept(self, day: date, offset: timedelta) -> Seconds:
        raise NotImplementedError

    def maybe(self, day: date) -> bool:
        """Whether the rule may keep some of the day (exact for day rules, a safe yes otherwise)."""
        return True


class DayRule(SlotRule):
    by_day = True

    def __init__(self, keeps: Callable[[date], bool]):
        self.keeps = keeps

    def kept(self, day: date, offset: timedelta) -> Seconds:
        return WHOLE if self.keeps(day) else []

    def maybe(self, day: date) -> bool:
        return self.keeps(day)


class TimeBetween(SlotRule):
    """Bounds given as local time less offset, from midnight (may be below 0 or beyond a day, never wrapped)."""

    def __init__(self, after: timedelta | None, before: timedelta | None):
        self.low, self.high = after, before

    def kept(self, day: date, offset: timedelta) -> Seconds:
        return _between(
            None if self.low is None else self.low + offset, None if self.high is None else self.high + offset
        )


class DateTimeBetween(SlotRule):
    def __init__(self, after: datetime | None, before: datetime | None):
        self.after, self.before = after, before

    def kept(self, day: date, offset: timedelta) -> Seconds:
        midnight = datetime.combine(day, time(), UTC) - offset  # the day's local midnight, as an instant
        return _between(
            None if self.after is None else self.after - midnight,
            None if self.before is None else self.before - midnight,
        )


class AllOf(SlotRule):
    def __init__(self, rules: Sequence[SlotRule]):
        self.rules = rules
        self.by_day = all(rule.by_day for rule in rules)
        afters = [rule.after for rule in rules if rule.after is not None]
        befores = [rule.before for rule in rules if rule.before is not None]
        self.after, self.before = max(afters, default=None), min(befores, default=None)

    def kept(self, day: date, offset: timedelta) -> Seconds:
        kept = WHOLE
        for rule in self.rules:
            kept = _intersect(kept, rule.kept(day, offset))
            if not kept:
                break
        return kept

    def maybe(self, day: date) -> bool:
        return all(rule.maybe(day) for rule in self.rules)


class AnyOf(SlotRule):
    def __init__(self, rules: Sequence[SlotRule]):
        self.rules = rules
        self.by_day = all(rule.by_day for rule in rules)

    def kept(self, day: date, offset: timedelta) -> Seconds:
        return _union([rule.kept(day, offset) for rule in self.rules])

    def maybe(self, day: date) -> bool:
        return any(rule.maybe(day) for rule in self.rules)


class NoneOf(SlotRule):
    def __init__(self, rules: Sequence[SlotRule]):
        self.inner = AnyOf(rules)
        self.by_day = self.inner.by_day

    def kept(self, day: date, offset: timedelta) -> Seconds:
        return _complement(self.inner.kept(day, offset))

    def maybe(self, day: date) -> bool:
        return not self.inner.maybe(day) if self.by_day else True


def keeps(rule: SlotRule | None, wall: datetime, offset: timedelta) -> bool:
    """Whether the rule keeps the slot at this local wall time and offset."""
    if rule is None:
        return True
    second = wall.hour * 3600 + wall.minute * 60 + wall.second
    return any(low <= second <= high for low, high in rule.kept(wall.date(), offset))


def _kind(condition: dict[str, Any], path: str) -> str:
    name = str(condition.get("type", ""))
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name.removeprefix(prefix).removesuffix("Condition")
    raise ConditionError(f"{path}.type: condition type '{name}' is not supported here")


def _check_properties(condition: dict[str, Any], path: str, allowed: tuple[str, ...]) -> None:
    for name in condition:
        if name not in ("type", "date", *allowed):
            raise ConditionError(f"{path}.{name}: not a property of this condition")
    written = condition.get("date", TRIGGER_DATE)
    if not isinstance(written, str) or written.replace(" ", "") != TRIGGER_DATE.replace(" ", ""):
        raise ConditionError(f"{path}.date: only {TRIGGER_DATE} (the slot's date, the default) is supported")


def _weekday(condition: dict[str, Any], path: str) -> int:
    name = condition.get("dayOfWeek")
    if name not in WEEKDAYS:
        raise ConditionError(f"{path}.dayOfWeek: must be one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(str(name))


def _instant(condition: dict[str, Any], name: str, path: str) -> datetime | None:
    value = condition.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ConditionError(f"{path}.{name}: '{value}' is not an ISO-8601 date-time with an offset or Z")
    try:
        return supported(parsed).astimezone(UTC)
    except ValueError as exc:
        raise ConditionError(f"{path}.{name}: {exc}") from None


def _offset_time(condition: dict[str, Any], name: str, path: str) -> timedelta | None:
    """An OffsetTime as the time of day less its offset (Kestra compares them so)."""
    value = condition.get(name)
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    offset = parsed.utcoffset() if parsed is not None else None
    if parsed is None or offset is None:
        raise ConditionError(f"{path}.{name}: '{value}' is not an ISO-8601 time with an offset, such as 08:00:00+02:00")
    of_day = timedelta(hours=parsed.hour, minutes=parsed.minute, seconds=parsed.second, microseconds=parsed.microsecond)
    return of_day - offset


def _day_rule(condition: dict[str, Any], kind: str, path: str) -> SlotRule:
    if kind == "DayWeek":
        _check_properties(condition, path, ("dayOfWeek",))
        weekday = _weekday(condition, path)
        return DayRule(lambda day: day.weekday() == weekday)
    if kind == "DayWeekInMonth":
        _check_properties(condition, path, ("dayOfWeek", "dayInMonth"))
        weekday = _weekday(condition, path)
        which = condition.get("dayInMonth")
        if which == "LAST":
            return DayRule(lambda day: day.weekday() == weekday and day.day > monthrange(day.year, day.month)[1] - 7)
        if which not in IN_MONTH:
            raise ConditionError(f"{path}.dayInMonth: must be one of {', '.join([*IN_MONTH, 'LAST'])}")
        low, high = IN_MONTH[str(which)]
        return DayRule(lambda day: day.weekday() == weekday and low <= day.day <= high)
    _check_properties(condition, path, ())
    return DayRule(lambda day: day.weekday() >= 5)


def _between_rule(condition: dict[str, Any], kind: str, path: str) -> SlotRule:
    _check_properties(condition, path, ("after", "before"))
    if condition.get("after") is None and condition.get("before") is None:
        raise ConditionError(f"{path}: needs `after`, `before` or both")  # Kestra fails it at every evaluation
    if kind == "TimeBetween":
        return TimeBetween(_offset_time(condition, "after", path), _offset_time(condition, "before", path))
    after, before = _instant(condition, "after", path), _instant(condition, "before", path)
    if after is not None and before is not None and before - after <= MICRO:
        raise ConditionError(f"{path}: no date is after {condition['after']} and before {condition['before']}")
    return DateTimeBetween(after, before)


def _rule(condition: Any, path: str, depth: int) -> SlotRule:
    if not isinstance(condition, dict):
        raise ConditionError(f"{path}: a condition is a map with a type")
    if depth > MAX_DEPTH:
        raise ConditionError(f"{path}: conditions are nested more than {MAX_DEPTH} deep")
    kind = _kind(condition, path)
    if kind in ("DayWeek", "DayWeekInMonth", "Weekend"):
        return _day_rule(condition, kind, path)
    if kind in ("TimeBetween", "DateTimeBetween"):
        return _between_rule(condition, kind, path)
    if kind in ("Not", "Or"):
        if set(condition) - {"type", "conditions"}:
            extra = sorted(set(condition) - {"type", "conditions"})[0]
            raise ConditionError(f"{path}.{extra}: not a property of this condition")
        inner = _rules(condition.get("conditions"), f"{path}.conditions", depth + 1)
        return NoneOf(inner) if kind == "Not" else AnyOf(inner)
    raise ConditionError(
        f"{path}.type: condition type '{condition.get('type')}' is not supported yet: a Schedule's conditions "
        "may be DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, Not and Or"
    )


def _rules(conditions: Any, path: str, depth: int) -> list[SlotRule]:
    if not isinstance(conditions, list) or not conditions:
        raise ConditionError(f"{path}: a non-empty list of conditions is required")
    return [_rule(c, f"{path}[{i}]", depth) for i, c in enumerate(conditions)]


def slot_rule(conditions: Any, path: str = "conditions") -> SlotRule | None:
    """The rule all the conditions make together (every one must hold), or None when there are none.
    Raises ConditionError naming the first one refused."""
    if conditions is None:
        return None
    return AllOf(_rules(conditions, path, 0))
