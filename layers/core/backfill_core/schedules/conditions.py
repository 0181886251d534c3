"""A Schedule trigger's `conditions`, as Kestra evaluates them on each slot's date in the trigger's timezone.

The ones that judge a slot by its day (DayWeek, DayWeekInMonth, Weekend, and Not and Or of those) are a rule on
local days, which the schedule applies when it steps (skipping whole days, never slot by slot) and the exact
count applies day by day: the live schedule, a backfill and its dry run leave out the same slots. Every other
condition type, and every property of a condition beside these, is refused with its path.
"""

from calendar import monthrange
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

DayRule = Callable[[date], bool]

PREFIXES = ("io.kestra.plugin.core.condition.", "io.kestra.core.models.conditions.types.")
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# Which days of the month hold the n-th given weekday: the first seven, the next seven, ... or the last seven.
IN_MONTH = {"FIRST": (1, 7), "SECOND": (8, 14), "THIRD": (15, 21), "FOURTH": (22, 28)}
TRIGGER_DATE = "{{ trigger.date }}"
MAX_DEPTH = 8


class ConditionError(ValueError):
    """A condition that cannot be evaluated here; the message starts with its path."""


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


def _rule(condition: Any, path: str, depth: int) -> DayRule:
    if not isinstance(condition, dict):
        raise ConditionError(f"{path}: a condition is a map with a type")
    if depth > MAX_DEPTH:
        raise ConditionError(f"{path}: conditions are nested more than {MAX_DEPTH} deep")
    kind = _kind(condition, path)
    if kind == "DayWeek":
        _check_properties(condition, path, ("dayOfWeek",))
        weekday = _weekday(condition, path)
        return lambda day: day.weekday() == weekday
    if kind == "DayWeekInMonth":
        _check_properties(condition, path, ("dayOfWeek", "dayInMonth"))
        weekday = _weekday(condition, path)
        which = condition.get("dayInMonth")
        if which == "LAST":
            return lambda day: day.weekday() == weekday and day.day > monthrange(day.year, day.month)[1] - 7
        if which not in IN_MONTH:
            raise ConditionError(f"{path}.dayInMonth: must be one of {', '.join([*IN_MONTH, 'LAST'])}")
        low, high = IN_MONTH[str(which)]
        return lambda day: day.weekday() == weekday and low <= day.day <= high
    if kind == "Weekend":
        _check_properties(condition, path, ())
        return lambda day: day.weekday() >= 5
    if kind in ("Not", "Or"):
        if set(condition) - {"type", "conditions"}:
            extra = sorted(set(condition) - {"type", "conditions"})[0]
            raise ConditionError(f"{path}.{extra}: not a property of this condition")
        inner = day_rule(condition.get("conditions"), f"{path}.conditions", depth + 1, combined=False)
        if kind == "Not":
            return lambda day: not any(rule(day) for rule in inner)
        return lambda day: any(rule(day) for rule in inner)
    raise ConditionError(
        f"{path}.type: condition type '{condition.get('type')}' is not supported yet: a Schedule's conditions "
        "may be DayWeek, DayWeekInMonth, Weekend, Not and Or"
    )


def day_rule(conditions: Any, path: str = "conditions", depth: int = 0, combined: bool = True) -> Any:
    """The rule all the conditions make together (every one must hold), or None when there are none; with
    `combined` False, the list of each one's rule. Raises ConditionError naming the first one refused."""
    if conditions is None:
        return None if combined else []
    if not isinstance(conditions, list) or not conditions:
        raise ConditionError(f"{path}: a non-empty list of conditions is required")
    rules: Sequence[DayRule] = [_rule(c, f"{path}[{i}]", depth) for i, c in enumerate(conditions)]
    if not combined:
        return rules
    return lambda day: all(rule(day) for rule in rules)
