"""Pebble run by Jinja2's sandbox: the environment with Kestra's filters, tests and functions, and the rendering
and checking of one template. Imported by flows/templating.py when a property first holds an expression, so a
handler whose requests render nothing never imports Jinja2 (bench/cold_start.py)."""

import json
import re
from functools import lru_cache, wraps
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from backfill_core.flows.pebble.filters import FILTERS, TESTS, java_text
from backfill_core.flows.pebble.functions import FUNCTIONS, NOT_SUPPORTED, renderers
from backfill_core.flows.pebble.limits import MAX_RENDERED_CHARS, PebbleProblem
from backfill_core.flows.pebble.syntax import translate
from backfill_core.flows.pebble.text import TemplateRenderError, holds_expression


class _UnknownVariable(StrictUndefined):
    """Undefined that keeps its full dotted path through chained lookups, for `a.b.c ?? x` and errors."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("unsafe_callable", "alters_data"):  # the sandbox's own questions
            raise AttributeError(name)
        return _UnknownVariable(name=f"{self._undefined_name}.{name}")

    __getitem__ = __getattr__

    @property
    def _undefined_message(self) -> str:
        return f"unknown variable '{self._undefined_name}'"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._undefined_exception(f"unknown function '{self._undefined_name}'")


class _Scope(dict):
    """A dict of variables that knows its dotted path, so a missing key is reported as `inputs.foo`."""

    def __init__(self, values: dict, path: str):
        super().__init__({k: _scoped(v, f"{path}.{k}" if path else str(k)) for k, v in values.items()})
        self._scope_path = path


def _scoped(value: Any, path: str) -> Any:
    return _Scope(value, path) if isinstance(value, dict) and not isinstance(value, _Scope) else value


def _refuse_huge_sizes(args: tuple, kwargs: dict, what: str) -> None:
    """A width, count or length past what a property may hold asks for a value that would be built before any
    size check could see it (`'x'.ljust(10**12)`, `|center(10**9)`)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED_CHARS:
            raise SecurityError(f"{what} asks for {value:,} characters, more than a property may hold")


def _bounded_filter(name: str, function):
    @wraps(function)  # keeps Jinja's pass_environment / pass_context marks
    def bounded(*args, **kwargs):
        _refuse_huge_sizes(args, kwargs, f"the filter '{name}'")
        if name == "format" and args and _wide(args[0]):
            raise SecurityError("the filter 'format' holds a width past what a property may hold")
        return function(*args, **kwargs)

    return bounded


def _wide(format_string: Any) -> bool:
    return isinstance(format_string, str) and any(
        int(n) > MAX_RENDERED_CHARS for n in re.findall(r"\d{7,}", format_string)
    )


class _KestraEnvironment(SandboxedEnvironment):
    # `'x' * 10**10` would build the string before any size check could see it; `'%09999999d' % 1` likewise.
    intercepted_binops = frozenset({"*", "**", "%", "/", "+"})

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's names
        if getattr(__obj, "__name__", "") in ("format", "format_map") and isinstance(
            getattr(__obj, "__self__", None), str
        ):
            raise SecurityError("Python string formatting is not a Kestra expression; use filters")
        _refuse_huge_sizes(args, kwargs, f"'{getattr(__obj, '__name__', 'a call')}'")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of text is not a Kestra expression; use filters")
        for sequence, count in ((left, right), (right, left)):
            repeats = operator == "*" and isinstance(sequence, str | list | tuple) and isinstance(count, int)
            if repeats and len(sequence) * count > MAX_RENDERED_CHARS:
                raise SecurityError(f"a repetition of {len(sequence) * count:,} items is too large")
        powers = operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1
        if powers and right > 0 and right * abs(left).bit_length() > 64 * 1024:
            raise SecurityError(f"{left} ** {right} is too large a number")
        java = _java_arithmetic(operator, left, right)
        return java[0] if java else super().call_binop(context, operator, left, right)

    def _named_missing(self, obj: Any, key: Any, found: Any) -> Any:
        if isinstance(found, StrictUndefined) and isinstance(obj, _Scope):
            return self.undefined(name=f"{obj._scope_path}.{key}")
        return found

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict):
            return self._key(obj, attribute)
        return self._named_missing(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict):
            return self._key(obj, argument)
        return self._named_missing(obj, argument, super().getitem(obj, argument))

    def _key(self, obj: dict, key: Any) -> Any:
        """A map's `.values` or `['items']` is its key, as in Pebble, never the Python dict's method."""
        try:
            return obj[key]
        except (KeyError, TypeError):
            return self._named_missing(obj, key, self.undefined(obj=obj, name=key))


def _java_arithmetic(operator: str, left: Any, right: Any) -> tuple | None:
    """Pebble's arithmetic where Python's differs: `+` with text concatenates, whole numbers divide into a whole
    number and keep the dividend's sign in a remainder, as Java's do. None for Python's own; else (the result,)."""
    integers = all(isinstance(n, int) and not isinstance(n, bool) for n in (left, right))
    if operator == "+" and (isinstance(left, str) or isinstance(right, str)):
        return (java_text(left) + java_text(right),)
    if operator == "/" and integers and right:
        return (abs(left) // abs(right) * (-1 if (left < 0) != (right < 0) else 1),)
    if operator == "%" and integers and right:
        return (abs(left) % abs(right) * (-1 if left < 0 else 1),)
    return None


def _coalesce(value: Any, fallback: Any) -> Any:
    return fallback if value is None or isinstance(value, StrictUndefined) else value


def _coalesce_undefined(value: Any, fallback: Any) -> Any:
    """Kestra's `???`: only an undefined value falls back; null stays null."""
    return fallback if isinstance(value, StrictUndefined) else value


def _finalize(value: Any) -> Any:
    """Print values as Pebble does: true/false, nothing for null, compact JSON for maps and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return value


_ENV = _KestraEnvironment(undefined=_UnknownVariable, finalize=_finalize, autoescape=False)
_ENV.filters.update(FILTERS, coalesce=_coalesce, coalesce_undefined=_coalesce_undefined)
for _name in ("center", "indent", "nindent", "wordwrap", "truncate", "format", "filesizeformat", "batch", "chunk"):
    _ENV.filters[_name] = _bounded_filter(_name, _ENV.filters[_name])
_ENV.tests.update(TESTS)
# Kestra's functions only: Jinja's own globals (cycler, joiner, lipsum, namespace, dict) are not Pebble.
_ENV.globals.clear()
_ENV.globals.update(FUNCTIONS)


@lru_cache(maxsize=512)
def _compiled(template: str):
    """Every slot of a flow renders the same properties: compile each once per warm executor, not per slot
    (compiling was most of a no-op slot's template time, and grew the interpreter's tables)."""
    return _ENV.from_string(translate(template))


def render_text(template: str, variables: dict[str, Any]) -> str:
    """flows/templating.py's render, and Kestra's render() function."""
    if not holds_expression(template):
        return template
    try:
        rendered = _compiled(template).render(_Scope(variables, ""))
    except TemplateRenderError:
        raise  # from a render() inside the template: it already names its expression
    except TemplateError as exc:
        raise TemplateRenderError(f"cannot render '{template}': {exc.message or exc}") from exc
    except PebbleProblem as exc:
        raise TemplateRenderError(f"cannot render '{template}': {exc}") from exc
    except (MemoryError, RecursionError) as exc:
        # A value too large to build, or an expression that calls itself: the task fails, the executor carries on.
        raise TemplateRenderError(
            f"cannot render '{template[:200]}': {type(exc).__name__}: the expression is too costly"
        ) from exc
    except Exception as exc:  # whatever an expression throws (a dunder lookup, 1/0, a bad regex)
        raise TemplateRenderError(f"cannot render '{template}': {type(exc).__name__}: {exc}") from exc
    if len(rendered) > MAX_RENDERED_CHARS:
        raise TemplateRenderError(
            f"cannot render '{template[:200]}': it renders to {len(rendered):,} characters, more than the "
            f"{MAX_RENDERED_CHARS:,} a property may hold"
        )
    return rendered


_ENV.globals.update(renderers(render_text))


def expression_problem(template: str) -> str | None:
    """flows/templating.py's template_problem, for a template that holds an expression."""
    try:
        tree = _ENV.parse(translate(template))
        _compiled(template)  # an unknown filter or test is found when Jinja compiles
    except (TemplateError, PebbleProblem) as exc:
        return f"'{template}': {getattr(exc, 'message', None) or exc}"
    local = {node.name for node in tree.find_all(nodes.Macro)}
    local |= {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    for call in tree.find_all(nodes.Call):
        name = call.node.name if isinstance(call.node, nodes.Name) else None
        if name in NOT_SUPPORTED and name not in local:
            return f"'{template}': {name}() is not supported yet"
        if name is not None and name not in _ENV.globals and name not in local:
            return f"'{template}': unknown function '{name}'"
    return None
