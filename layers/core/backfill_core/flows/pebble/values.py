"""How Kestra (Java) turns values into text and JSON, and what Pebble calls empty; shared by the filters."""

import json
from datetime import date
from typing import Any

from jinja2 import Undefined

from backfill_core.flows.pebble.limits import PebbleProblem


class FilterProblem(PebbleProblem):
    """A filter given a value or an argument it cannot take; the message names the filter."""


def java_text(value: Any) -> str:
    """How Java writes a value into text: true/false, null, JSON for maps and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list | tuple):
        return to_json(value)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise FilterProblem(f"cannot write a {type(value).__name__} as JSON")


def to_json(value: Any) -> str:
    """Jackson's compact JSON (no spaces), as Kestra's `toJson` writes it; null is `null`."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def is_empty(value: Any) -> bool:
    """Pebble's `empty`: null, blank text, an empty list or map."""
    if value is None or isinstance(value, Undefined):
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | dict | set) and not value
