"""A flow's declared inputs, Kestra's way: typed, required or defaulted, and resolved for an execution as
flow defaults, overlaid by the trigger's inputs, overlaid by the backfill's. Every problem is a 422 that
names the input."""

import json
import math
import re
from datetime import date
from typing import Any

from .errors import Invalid
from .kestra_time import format_date, parse_instant
from .templating import TemplateRenderError, render

INPUT_TYPES = ("STRING", "INT", "FLOAT", "BOOLEAN", "DATETIME", "DATE", "SELECT", "JSON")


class InputError(ValueError):
    """A value that does not fit its input's type."""


def typed_value(kind: str, value: Any, values: list[str] | None = None) -> Any:
    """The value as the input's type, or InputError saying why not."""
    if kind == "STRING":
        if isinstance(value, dict | list):
            raise InputError("must be a string")
        return str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "INT":
        if isinstance(value, bool) or not (isinstance(value, int) or re.fullmatch(r"[+-]?\d+", str(value).strip())):
            raise InputError(f"'{value}' is not an integer")
        return int(value)
    if kind == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InputError(f"'{value}' is not a number")
        try:
            number = float(value)
        except ValueError as exc:
            raise InputError(f"'{value}' is not a number") from exc
        if not math.isfinite(number) or (isinstance(value, str) and "_" in value):
            raise InputError(f"'{value}' is not a finite number")
        return number
    if kind == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InputError(f"'{value}' is not true or false")
    if kind == "DATETIME":
        # An instant, as Kestra's: a date and a time with an offset or Z.
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})", text):
            raise InputError(f"'{value}' is not an ISO-8601 date-time with an offset, such as 2024-03-28T06:30:00Z")
        try:
            return format_date(parse_instant(text))
        except ValueError as exc:
            raise InputError(f"'{value}' is not a valid date-time") from exc
    if kind == "DATE":
        text = str(value).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise InputError(f"'{value}' is not a date such as 2024-03-28") from exc
    if kind == "SELECT":
        if str(value) not in (values or []):
            raise InputError(f"'{value}' is not one of {', '.join(values or [])}")
        return str(value)
    if kind == "JSON":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise InputError(f"'{value}' is not JSON") from exc
        return value
    raise InputError(f"type '{kind}' is not one of {', '.join(INPUT_TYPES)}")


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
        if spec.defaults is not None and not _is_template(spec.defaults):
            try:
                typed_value(spec.type, spec.defaults, spec.values)
            except InputError as exc:
                raise Invalid(f"inputs[{spec.id}].defaults: {exc}") from exc


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
    """The execution's inputs: defaults < trigger < backfill, each rendered, typed and checked."""
    check_undeclared(inputs, trigger_inputs, "inputs")
    check_undeclared(inputs, backfill_inputs, where)
    resolved: dict[str, Any] = {}
    for spec in inputs:
        value = spec.defaults
        for layer in (trigger_inputs or {}, backfill_inputs or {}):
            if spec.id in layer and layer[spec.id] is not None:
                value = layer[spec.id]
        if value is None:
            if spec.required:
                raise Invalid(f"{where}.{spec.id}: required input '{spec.id}' has no value and no default")
            continue
        try:
            if _is_template(value):
                value = render(value, variables)
            typed = typed_value(spec.type, value, spec.values)
        except (InputError, TemplateRenderError) as exc:
            raise Invalid(f"{where}.{spec.id}: {exc}") from exc
        if typed is None and spec.required:
            raise Invalid(f"{where}.{spec.id}: required input '{spec.id}' is null")
        resolved[spec.id] = typed
    return resolved


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value
