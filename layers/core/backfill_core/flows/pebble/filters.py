"""Pebble's and Kestra's filters and tests with their semantics, where Jinja's namesakes differ (`default` also
takes an empty value, `capitalize` keeps the rest of the text, `split` takes a regular expression, ...).
Facts: https://pebbletemplates.io/wiki/ (filter pages) and https://kestra.io/docs/expressions/filters
"""

import base64
import hashlib
import json
import re
import unicodedata
from datetime import date
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import yaml
from jinja2 import Undefined

from backfill_core.flows.pebble.dates import FILTERS as DATE_FILTERS
from backfill_core.flows.pebble.jq import jq
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


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise FilterProblem(f"the filter '{name}' takes text, not {type(value).__name__} '{java_text(value)}'")
    return value


def _each_string(value: Any, change) -> Any:
    """Kestra's `replace` and `escapeChar` reach into maps and lists."""
    if isinstance(value, dict):
        return {key: _each_string(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_each_string(item, change) for item in value]
    return change(java_text(value))


def _capitalize(value: Any) -> Any:
    text = _text("capitalize", value)
    stripped = text.lstrip()
    return text[: len(text) - len(stripped)] + stripped[:1].upper() + stripped[1:]


def _title(value: Any) -> Any:
    return re.sub(r"(^|\s)(\S)", lambda m: m[1] + m[2].upper(), _text("title", value))


def _default(value: Any, default: Any = None) -> Any:
    return default if is_empty(value) else value


def _first(value: Any) -> Any:
    if isinstance(value, dict):
        raise FilterProblem("the filter 'first' takes text or a list, not a map")
    return value[0] if value else None


def _last(value: Any) -> Any:
    if isinstance(value, dict):
        raise FilterProblem("the filter 'last' takes text or a list, not a map")
    return value[-1] if value else None


def _join(value: Any, separator: str | None = None) -> str:
    if not isinstance(value, list | tuple | set):
        raise FilterProblem("the filter 'join' takes a list")
    return (separator or "").join(java_text(item) for item in value)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict | set) else 0


def _java_replacement(replacement: str) -> str:
    """Java's `$1` group references as Python's `\\g<1>`."""
    return re.sub(r"\$(\d+)", r"\\g<\1>", replacement.replace("\\", "\\\\"))


def _replace(value: Any, replace_pairs: Any = None, regexp: bool = False) -> Any:
    if not isinstance(replace_pairs, dict):
        raise FilterProblem("the filter 'replace' takes a map of what to replace, e.g. replace({'a': 'b'})")

    def change(text: str) -> str:
        for old, new in replace_pairs.items():
            if regexp:
                text = re.sub(java_text(old), _java_replacement(java_text(new)), text)
            else:
                text = text.replace(java_text(old), java_text(new))
        return text

    return _each_string(value, change)


def _split(value: Any, delimiter: str | None = None, limit: int | None = None) -> list[str]:
    """Java's String.split: the delimiter is a regular expression, trailing empty parts go unless a limit is set."""
    if delimiter is None:
        raise FilterProblem("the filter 'split' needs a delimiter")
    text = _text("split", value)
    parts = re.split(delimiter, text, maxsplit=limit - 1 if limit and limit > 0 else 0)
    if not limit:
        while parts and parts[-1] == "":
            parts.pop()
    return parts or ([""] if text == "" else [])


def _slice(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:  # noqa: N803 - Pebble's names
    if not isinstance(value, str | list | tuple):
        raise FilterProblem("the filter 'slice' takes text or a list")
    end = len(value) if toIndex is None else toIndex
    if fromIndex < 0 or end > len(value) or fromIndex > end:
        raise FilterProblem(f"slice({fromIndex}, {end}) is outside the {len(value)} items it is given")
    return value[fromIndex:end]


def _number(value: Any, type: str | None = None) -> Any:  # noqa: A002 - Kestra's name
    text = _text("number", value).strip()
    try:
        if type in ("INT", "LONG", "BIGINTEGER"):
            return int(text)
        if type in ("FLOAT", "DOUBLE", "BIGDECIMAL"):
            return float(text)
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
        return int(text) if re.fullmatch(r"[+-]?\d+[lL]?", text) else float(text.rstrip("fFdD"))
    except ValueError as exc:
        raise FilterProblem(f"'{text}' is not a number") from exc


def _keys(value: Any) -> list:
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list | tuple):
        return list(range(len(value)))
    raise FilterProblem("the filter 'keys' takes a map or a list")


def _values(value: Any) -> list:
    if not isinstance(value, dict):
        raise FilterProblem("the filter 'values' takes a map")
    return list(value.values())


def _merge(value: Any, items: Any) -> Any:
    if isinstance(value, dict) and isinstance(items, dict):
        return {**value, **items}
    if isinstance(value, list | tuple):
        return [*value, *(items if isinstance(items, list | tuple) else [items])]
    raise FilterProblem("the filter 'merge' joins two maps or two lists")


def _slugify(value: Any) -> str:
    text = unicodedata.normalize("NFD", re.sub(r"\s", "-", java_text(value)))
    slug = re.sub(r"[^\w-]", "", text, flags=re.ASCII).replace("_", "-")
    return re.sub(r"-{2,}", "-", slug).strip("-").lower()


def _escape_char(value: Any, type: str | None = None) -> Any:  # noqa: A002 - Kestra's name
    escapes = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}
    if (type or "").lower() not in escapes:
        raise FilterProblem("the filter 'escapeChar' takes type='single', 'double' or 'shell'")
    old, new = escapes[type.lower()]  # type: ignore[union-attr]
    return _each_string(value, lambda text: text.replace(old, new))


def _yaml(value: Any) -> str:
    """YAML as Kestra writes it: no document markers, lists indented under their key."""

    class _Indented(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    text = yaml.dump(value, Dumper=_Indented, default_flow_style=False, sort_keys=False, allow_unicode=True)
    text = text.removesuffix("...\n")
    return "".join(f" {line}\n" for line in text.splitlines()) if isinstance(value, list | tuple) else text


def _digest(algorithm: str):
    return lambda value: hashlib.new(algorithm, java_text(value).encode()).hexdigest()


def _substring(before: bool, last: bool):
    def cut(value: Any, separator: str) -> str:
        text = java_text(value)
        at = text.rfind(separator) if last else text.find(separator)
        if at < 0:
            return text if before else ""
        return text[:at] if before else text[at + len(separator) :]

    return cut


def _is_json(value: Any) -> bool:
    try:
        json.loads(value)
    except (TypeError, ValueError):
        return False
    return True


def _none_or(function):
    return lambda value, *args, **kwargs: None if value is None else function(value, *args, **kwargs)


FILTERS = {
    **DATE_FILTERS,
    "abs": _none_or(abs),
    "capitalize": _none_or(_capitalize),
    "title": _none_or(_title),
    "upper": _none_or(lambda value: java_text(value).upper()),
    "lower": _none_or(lambda value: java_text(value).lower()),
    "trim": _none_or(lambda value: java_text(value).strip()),
    "default": _default,
    "first": _none_or(_first),
    "last": _none_or(_last),
    "join": _none_or(_join),
    "length": _length,
    "replace": _none_or(_replace),
    "split": _none_or(_split),
    "slice": _none_or(_slice),
    "sort": _none_or(sorted),
    "rsort": _none_or(lambda value: sorted(value, reverse=True)),
    "reverse": _none_or(lambda value: value[::-1] if isinstance(value, str) else list(reversed(value))),
    "merge": _none_or(_merge),
    "number": _none_or(_number),
    "json": to_json,
    "toJson": to_json,
    "yaml": lambda value: "null" if value is None else _yaml(value),
    "jq": _none_or(jq),
    "keys": _none_or(_keys),
    "values": _none_or(_values),
    "urlencode": _none_or(lambda value: quote_plus(java_text(value), safe="*").replace("~", "%7E")),
    "urldecode": _none_or(lambda value: unquote_plus(java_text(value))),
    "base64encode": _none_or(lambda value: base64.b64encode(java_text(value).encode()).decode()),
    "base64decode": _none_or(lambda value: base64.b64decode(java_text(value), validate=True).decode()),
    "slugify": _none_or(_slugify),
    "escapeChar": _none_or(_escape_char),
    "startsWith": lambda value, value_: java_text(value).startswith(java_text(value_)),
    "endsWith": lambda value, value_: java_text(value).endswith(java_text(value_)),
    "substringBefore": _none_or(_substring(before=True, last=False)),
    "substringBeforeLast": _none_or(_substring(before=True, last=True)),
    "substringAfter": _none_or(_substring(before=False, last=False)),
    "substringAfterLast": _none_or(_substring(before=False, last=True)),
    "md5": _none_or(_digest("md5")),
    "sha1": _none_or(_digest("sha1")),
    "sha256": _none_or(_digest("sha256")),
    "sha512": _none_or(_digest("sha512")),
}

TESTS = {
    "null": lambda value: (value._fail_with_undefined_error() if isinstance(value, Undefined) else value) is None,
    "empty": is_empty,
    "map": lambda value: isinstance(value, dict),
    "json": _is_json,
}
