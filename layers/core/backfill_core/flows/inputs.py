"""A flow's declared inputs, Kestra's way: typed, required or defaulted, and resolved for an execution as
flow defaults, overlaid by the trigger's inputs, overlaid by the backfill's. Every problem is a 422 that
names the input.

What the flow's author wrote (defaults, the trigger's inputs) may be a template and is rendered; what an API
caller sends is data and never is. Every value is bounded, rendered or not, so the backfill record and each
execution holding them stay far under DynamoDB's 400 KB item."""

import json
import math
import re
from datetime import date
from decimal import Decimal
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.templating import TemplateRenderError, render
from backfill_core.schedules.kestra_time import format_date, parse_instant
from backfill_core.strict_json import json_loads

INPUT_TYPES = ("STRING", "INT", "FLOAT", "BOOLEAN", "DATETIME", "DATE", "SELECT", "JSON")
MAX_INPUT_BYTES = 32 * 1024  # one input's value, as stored JSON
MAX_INPUTS_BYTES = 64 * 1024  # all of an execution's inputs together, names included
INT_RANGE = (-(2**31), 2**31 - 1)  # Kestra's INT input is a Java Integer
BOUNDED_TYPES = ("INT", "FLOAT")  # the input types with a `min` and a `max`


class InputError(ValueError):
    """A value that does not fit its input's type."""


def typed_value(kind: str, value: Any, values: list[str] | None = None) -> Any:
    """The value as the input's type, or InputError saying why not."""
    if kind == "STRING":
        if isinstance(value, dict | list):
            raise InputError("must be a string")
        return str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "INT":
        return _bounded_int(value)
    if kind == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InputError(f"'{_shown(value)}' is not a number")
        try:
            number = float(value)
        except (ValueError, OverflowError) as exc:
            raise InputError(f"'{_shown(value)}' is not a number") from exc
        if not math.isfinite(number) or (isinstance(value, str) and "_" in value):
            raise InputError(f"'{_shown(value)}' is not a finite number")
        return number
    if kind == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InputError(f"'{_shown(value)}' is not true or false")
    if kind == "DATETIME":
        # An instant, as Kestra's: a date and a time with an offset or Z.
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})", text):
            raise InputError(
                f"'{_shown(value)}' is not an ISO-8601 date-time with an offset, such as 2024-03-28T06:30:00Z"
            )
        try:
            return format_date(parse_instant(text))
        except ValueError as exc:
            raise InputError(f"'{_shown(value)}' is not a valid date-time") from exc
    if kind == "DATE":
        text = str(value).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise InputError(f"'{_shown(value)}' is not a date such as 2024-03-28") from exc
    if kind == "SELECT":
        if str(value) not in (values or []):
            raise InputError(f"'{_shown(value)}' is not one of {', '.join(values or [])}")
        return str(value)
    if kind == "JSON":
        if isinstance(value, str):
            try:
                value = json_loads(value)
            except ValueError as exc:
                raise InputError(f"'{_shown(value)}' is not JSON") from exc
        if _holds_decimal(value):
            raise InputError("holds a number of more than 4,300 digits")
        return value
    raise InputError(f"type '{kind}' is not one of {', '.join(INPUT_TYPES)}")


def _shown(value: Any) -> str:
    """A value as an error message quotes it: its start, when it is long."""
    text = str(value) if not isinstance(value, Decimal) else f"a number of {len(value.as_tuple().digits):,} digits"
    return text if len(text) <= 80 else text[:80] + "..."


def _bounded_int(value: Any) -> int:
    """An integer in Kestra's INT range, its digits counted before any conversion (Python refuses to convert
    more than 4,300 of them)."""
    low, high = INT_RANGE
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else None
        if text is None or not re.fullmatch(r"[+-]?\d+", text):
            raise InputError(f"'{_shown(value)}' is not an integer")
        if len(text.lstrip("+-").lstrip("0")) > len(str(high)):
            raise InputError(f"'{_shown(value)}' is outside the INT range {low} to {high}")
        number = int(text)
    if not low <= number <= high:
        raise InputError(f"'{_shown(value)}' is outside the INT range {low} to {high}")
    return number


def _holds_decimal(value: Any) -> bool:
    if isinstance(value, Decimal):
        return True
    if isinstance(value, dict):
        return any(_holds_decimal(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_decimal(v) for v in value)
    return False


def stored_size(value: Any) -> int:
    """Bytes the value takes in a stored record's JSON."""
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def check_declarations(inputs: list) -> None:
    """At registration: known types, SELECT values, and defaults that fit their type."""
    seen: set[str] = set()
    for spec in inputs:
        if spec.id in seen:
            raise Invalid(f"inputs[{spec.id}].id: input id '{spec.id}' is used twice")
        seen.add(spec.id)
        if spec.type not in INPUT_TYPES:
            raise Invalid(f"inputs[{spec.id}].type: '{spec.type}' is not one of {', '.join(INPUT_TYPES)}")
        if spec.type == "SELECT" and not spec.values:
            raise Invalid(f"inputs[{spec.id}].values: a SELECT input needs a list of values")
        for bound in ("min", "max"):
            if getattr(spec, bound) is not None and spec.type not in BOUNDED_TYPES:
                raise Invalid(f"inputs[{spec.id}].{bound}: only an INT or FLOAT input has a {bound}")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            raise Invalid(f"inputs[{spec.id}].max: {spec.max:g} is less than min {spec.min:g}")
        if spec.defaults is not None and not _is_template(spec.defaults):
            try:
                within_bounds(spec, typed_value(spec.type, spec.defaults, spec.values))
            except InputError as exc:
                raise Invalid(f"inputs[{spec.id}].defaults: {exc}") from exc


def within_bounds(spec: Any, typed: Any) -> Any:
    """Kestra's `min` and `max` of an INT or FLOAT input, both inclusive, with Kestra's messages."""
    if spec.type in BOUNDED_TYPES and typed is not None:
        if spec.min is not None and typed < spec.min:
            raise InputError(f"it must be more than `{spec.min:g}`")
        if spec.max is not None and typed > spec.max:
            raise InputError(f"it must be less than `{spec.max:g}`")
    return typed


def check_undeclared(inputs: list, given: dict[str, Any] | None, where: str) -> None:
    declared = {spec.id for spec in inputs}
    for name in given or {}:
        if name not in declared:
            listed = ", ".join(sorted(declared)) or "none"
            raise Invalid(f"{where}.{name}: the flow has no input '{name}' (its inputs: {listed})")


def resolve(
    inputs: list,
    trigger_inputs: dict[str, Any] | None,
    backfill_inputs: dict[str, Any] | None,
    variables: dict[str, Any],
    where: str = "backfill.inputs",
) -> dict[str, Any]:
    """The execution's inputs: defaults < trigger < backfill, typed, checked and bounded. The author's values
    are rendered when they hold a template; the backfill's (a caller's) are taken as they are."""
    check_undeclared(inputs, trigger_inputs, "inputs")
    check_undeclared(inputs, backfill_inputs, where)
    resolved: dict[str, Any] = {}
    total = 0
    for spec in inputs:
        value, authored = spec.defaults, True
        for layer, by_author in ((trigger_inputs or {}, True), (backfill_inputs or {}, False)):
            if spec.id in layer and layer[spec.id] is not None:
                value, authored = layer[spec.id], by_author
        if value is None:
            if spec.required:
                raise Invalid(f"{where}.{spec.id}: required input '{spec.id}' has no value and no default")
            continue
        try:
            _check_size(value, "is")
            if authored and _is_template(value):
                value = render(value, variables)
                _check_size(value, "renders to")
            typed = within_bounds(spec, typed_value(spec.type, value, spec.values))
        except (InputError, TemplateRenderError) as exc:
            raise Invalid(f"{where}.{spec.id}: {exc}") from exc
        if typed is None and spec.required:
            raise Invalid(f"{where}.{spec.id}: required input '{spec.id}' is null")
        total += stored_size({spec.id: typed})
        if total > MAX_INPUTS_BYTES:
            raise Invalid(
                f"{where}.{spec.id}: the inputs up to this one take {total:,} bytes, "
                f"more than the {MAX_INPUTS_BYTES:,} an execution's inputs may take together"
            )
        resolved[spec.id] = typed
    return resolved


def _check_size(value: Any, verb: str) -> None:
    size = stored_size(value)
    if size > MAX_INPUT_BYTES:
        raise InputError(f"the value {verb} {size:,} bytes, more than the {MAX_INPUT_BYTES:,} an input may take")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value
