"""Kestra's functions: `now()`, `secret()`, `read()`, `render()`, `renderOnce()`, `fromJson()` (and its old name
`json()`), `yaml()`, `uuid()`, `id()`, `randomInt()`, Pebble's `range()`, `max()`, `min()`; those Kestra has
that we do not run yet are refused by name.
Facts: https://kestra.io/docs/expressions/functions and https://pebbletemplates.io/wiki/function/range/
"""

import json
import secrets
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import yaml
from jinja2 import pass_context
from jinja2.runtime import Context

from backfill_core.flows.pebble.dates import now
from backfill_core.flows.pebble.files import read_file
from backfill_core.flows.pebble.limits import MAX_ITEMS, PebbleProblem
from backfill_core.flows.secrets import SecretProblem, current_scope
from backfill_core.ids import new_id

MAX_RENDER_DEPTH = 10
"""How deep `render()` may nest, and how many passes a recursive render may take, before it is a loop."""

NOT_SUPPORTED = ("kv", "fileURI", "fileSize", "encrypt", "decrypt", "errorLogs",
                 "currentEachOutput", "fetchContext", "printContext", "fromIon")  # fmt: skip
_render_depth: ContextVar[int] = ContextVar("render_depth", default=0)


class FunctionProblem(PebbleProblem):
    """A function called with what it cannot take, or one we do not run."""


def _not_supported(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise FunctionProblem(f"{name}() is not supported yet")

    return refuse


def _render_value(value: Any, variables: dict, recursive: bool, render_text: Callable[[str, dict], str]) -> Any:
    if isinstance(value, dict):
        return {key: _render_value(item, variables, recursive, render_text) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, variables, recursive, render_text) for item in value]
    if not isinstance(value, str):
        return value
    depth = _render_depth.get()
    if depth >= MAX_RENDER_DEPTH:
        raise FunctionProblem(f"render() nested more than {MAX_RENDER_DEPTH} deep: a value renders itself")
    token = _render_depth.set(depth + 1)
    try:
        rendered, passes = render_text(value, variables), 1
        while recursive and rendered != value:
            if passes >= MAX_RENDER_DEPTH:
                raise FunctionProblem(
                    f"render() still changes after {MAX_RENDER_DEPTH} passes: a value renders itself ('{value[:100]}')"
                )
            value, rendered, passes = rendered, render_text(rendered, variables), passes + 1
    finally:
        _render_depth.reset(token)
    return rendered


def renderers(render_text: Callable[[str, dict], str]) -> dict[str, Callable[..., Any]]:
    """`render(toRender, recursive=true)` renders until the value no longer changes; `renderOnce` renders once."""

    @pass_context
    def render(context: Context, toRender: Any = None, recursive: Any = True) -> Any:  # noqa: N803 - Kestra's name
        if not isinstance(recursive, bool):
            raise FunctionProblem("render()'s 'recursive' must be true or false")
        return _render_value(toRender, dict(context.get_all()), recursive, render_text)

    @pass_context
    def render_once(context: Context, toRender: Any = None) -> Any:  # noqa: N803 - Kestra's name
        return _render_value(toRender, dict(context.get_all()), False, render_text)

    return {"render": render, "renderOnce": render_once}


def secret(key: Any = None) -> str:
    """Kestra's secret('NAME'): the flow's namespace's secret (flows/secrets.py), masked in the logs."""
    scope = current_scope.get()
    if key is None:
        raise FunctionProblem("The 'secret' function expects an argument 'key'.")
    if scope is None:
        raise FunctionProblem("secret() is only read while a flow runs")
    try:
        return scope.read(key)
    except SecretProblem as exc:
        raise FunctionProblem(str(exc)) from None


def from_json(json_text: Any = None) -> Any:
    if json_text is None:
        return None
    if not isinstance(json_text, str):
        raise FunctionProblem("fromJson() takes JSON text")
    try:
        return json.loads(json_text)
    except ValueError as exc:
        raise FunctionProblem(f"fromJson() was given invalid JSON: {exc}") from exc


class _NoAliases(yaml.SafeLoader):
    """YAML aliases can expand a few bytes into a value larger than memory (the billion laughs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise FunctionProblem("yaml() does not take YAML aliases (*name)")
        return super().compose_node(parent, index)


def from_yaml(yaml_text: Any = None) -> Any:
    if yaml_text is None:
        return None
    try:
        return yaml.load(str(yaml_text), Loader=_NoAliases)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise FunctionProblem(f"yaml() was given invalid YAML: {exc}") from exc


def pebble_range(start: Any, end: Any = None, increment: Any = 1) -> list[int]:
    """Pebble's range includes its end (`range(1, 3)` is 1, 2, 3); with one argument it counts from 0 up to,
    not including, that number, as Jinja's does."""
    if end is None:
        start, end = 0, start - 1 if isinstance(start, int) else start
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end, increment)):
        raise FunctionProblem("range() takes whole numbers")
    if increment == 0:
        raise FunctionProblem("range()'s increment must not be 0")
    numbers = range(start, end + (1 if increment > 0 else -1), increment)
    if len(numbers) > MAX_ITEMS:
        raise FunctionProblem(f"range() of {len(numbers):,} numbers is more than the {MAX_ITEMS:,} a flow may build")
    return list(numbers)


pebble_range.__name__ = "range"  # the name its errors give


def _extreme(pick: Callable[..., Any], name: str) -> Callable[..., Any]:
    def choose(*values: Any) -> Any:
        if not values:
            raise FunctionProblem(f"{name}() needs at least one value")
        return pick(values)

    return choose


def random_int(lower: Any = None, upper: Any = None) -> int:
    """Kestra's randomInt(lower, upper): an integer from `lower` up to, not including, `upper`."""
    for name, value in (("lower", lower), ("upper", upper)):
        if value is None:
            raise FunctionProblem(f"randomInt() expects an argument '{name}'")
        if not isinstance(value, int) or isinstance(value, bool):
            raise FunctionProblem(f"randomInt(): '{name}' must be an integer, not {value!r}")
    if upper < lower:
        raise FunctionProblem(f"randomInt(): upper ({upper}) is less than lower ({lower})")
    return lower + secrets.randbelow(upper - lower) if upper > lower else lower


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": now,
    "secret": secret,
    "fromJson": from_json,
    "json": from_json,
    "yaml": from_yaml,
    "range": pebble_range,
    "max": _extreme(max, "max"),
    "min": _extreme(min, "min"),
    "read": read_file,  # a kestra:// file of the current execution (flows/pebble/files)
    "uuid": lambda: str(uuid.uuid4()),
    "id": new_id,  # Kestra's short ids (IdUtils.create), as execution and task run ids are
    "randomInt": random_int,
    **{name: _not_supported(name) for name in NOT_SUPPORTED},
}
