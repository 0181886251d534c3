"""Pebble's and Kestra's filters and tests with their semantics, where Jinja's namesakes differ (`default` also
takes an empty value, `capitalize` keeps the rest of the text, `split` takes a regular expression, ...).
Facts: https://pebbletemplates.io/wiki/ (filter pages) and https://kestra.io/docs/expressions/filters
"""

import base64
import hashlib
import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import yaml
from jinja2 import Undefined

from backfill_core.flows.pebble.dates import FILTERS as DATE_FILTERS
from backfill_core.flows.pebble.jq import jq
from backfill_core.flows.pebble.limits import MAX_RENDERED_CHARS
from backfill_core.flows.pebble.lists import LIST_FILTERS
from backfill_core.flows.pebble.values import FilterProblem, is_empty, java_text, to_json


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

    try:
        text = yaml.dump(value, Dumper=_Indented, default_flow_style=False, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise FilterProblem(f"the filter 'yaml' cannot write {type(value).__name__} '{java_text(value)}'") from exc
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


def _abbreviate(value: Any, length: Any = None) -> str:
    text = _text("abbreviate", value)
    if not isinstance(length, int) or length < 4:
        raise FilterProblem("the filter 'abbreviate' takes a length of at least 4 (the ellipsis included)")
    return text if len(text) <= length else text[: length - 3] + "..."


def _indent(new_line_first: bool):
    """Kestra's `indent` (every line but the first) and `nindent` (a new line first, then every line)."""

    def indent(value: Any, amount: Any = None, prefix: str = " ") -> str:
        text = java_text(value)
        if not text:
            return text
        if not isinstance(amount, int) or amount < 0:
            raise FilterProblem("the filter 'indent' takes an amount of 0 or more")
        line = next((end for end in ("\r\n", "\n\r", "\n", "\r") if end in text), "\n")
        text = line + text if new_line_first else text
        if len(text) + text.count(line) * amount * len(prefix) > MAX_RENDERED_CHARS:
            raise FilterProblem("the indented text would be larger than a property may hold")
        return text.replace(line, line + prefix * amount)

    return indent


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
    **LIST_FILTERS,
    "abs": _none_or(abs),
    "capitalize": _none_or(_capitalize),
    "title": _none_or(_title),
    "upper": _none_or(lambda value: java_text(value).upper()),
    "lower": _none_or(lambda value: java_text(value).lower()),
    "trim": _none_or(lambda value: java_text(value).strip()),
    "default": _default,
    "replace": _none_or(_replace),
    "split": _none_or(_split),
    "number": _none_or(_number),
    "json": to_json,
    "toJson": to_json,
    "yaml": lambda value: "null" if value is None else _yaml(value),
    "jq": _none_or(jq),
    "urlencode": _none_or(lambda value: quote_plus(java_text(value), safe="*").replace("~", "%7E")),
    "urldecode": _none_or(lambda value: unquote_plus(java_text(value))),
    "base64encode": _none_or(lambda value: base64.b64encode(java_text(value).encode()).decode()),
    "base64decode": _none_or(lambda value: base64.b64decode(java_text(value), validate=True).decode()),
    "slugify": _none_or(_slugify),
    "escapeChar": _none_or(_escape_char),
    "startsWith": lambda value, prefix: java_text(value).startswith(java_text(prefix)),
    "endsWith": lambda value, suffix: java_text(value).endswith(java_text(suffix)),
    "abbreviate": _none_or(_abbreviate),
    "string": java_text,
    "indent": _none_or(_indent(new_line_first=False)),
    "nindent": _none_or(_indent(new_line_first=True)),
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
