"""Pebble's and Kestra's filters on lists and maps: `first`, `last`, `join`, `length`, `slice`, `sort`,
`rsort`, `reverse`, `merge`, `keys`, `values`, `chunk`, `flatten`, `distinct`, and the `contains` operator.
Facts: https://kestra.io/docs/expressions/filters/collections and https://pebbletemplates.io/wiki/
"""

from typing import Any

from backfill_core.flows.pebble.limits import MAX_ITEMS
from backfill_core.flows.pebble.values import FilterProblem, java_text


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


def _slice(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:  # noqa: N803 - Pebble's names
    if not isinstance(value, str | list | tuple):
        raise FilterProblem("the filter 'slice' takes text or a list")
    end = len(value) if toIndex is None else toIndex
    if fromIndex < 0 or end > len(value) or fromIndex > end:
        raise FilterProblem(f"slice({fromIndex}, {end}) is outside the {len(value)} items it is given")
    return value[fromIndex:end]


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


def _list(name: str, value: Any) -> list:
    if not isinstance(value, list | tuple):
        raise FilterProblem(f"the filter '{name}' takes a list, not {type(value).__name__} '{java_text(value)}'")
    return list(value)


def _chunk(value: Any, size: Any = None) -> list:
    if not isinstance(size, int) or size < 1:
        raise FilterProblem("the filter 'chunk' takes a size of at least 1")
    items = _list("chunk", value)
    return [items[start : start + size] for start in range(0, len(items), size)]


def _flatten(value: Any) -> list:
    return [part for item in _list("flatten", value) for part in (item if isinstance(item, list) else [item])]


def _distinct(value: Any) -> list:
    found: list = []
    for item in _list("distinct", value):
        if item not in found:
            found.append(item)
    return found


def contains(container: Any, wanted: Any) -> bool:
    """Pebble's `contains`: text holds a substring, a map a key, a list an item, or every item of a list."""
    if container is None:
        return False
    if isinstance(container, str):
        return java_text(wanted) in container
    if isinstance(wanted, list | tuple) and isinstance(container, list | tuple):
        return all(item in container for item in wanted)
    return wanted in container


def entries(value: Any) -> Any:
    """A `for` over a map walks its entries, each with `key` and `value`, as Pebble's does."""
    return [{"key": key, "value": item} for key, item in value.items()] if isinstance(value, dict) else value


def _none_or(function):
    return lambda value, *args, **kwargs: None if value is None else function(value, *args, **kwargs)


def _bounded_sort(value: Any, reverse: bool = False) -> list:
    items = _list("sort", value)
    if len(items) > MAX_ITEMS:
        raise FilterProblem(f"sorting {len(items):,} items is more than the {MAX_ITEMS:,} a flow may sort")
    return sorted(items, reverse=reverse)


LIST_FILTERS = {
    "first": _none_or(_first),
    "last": _none_or(_last),
    "join": _none_or(_join),
    "length": _length,
    "slice": _none_or(_slice),
    "sort": _none_or(_bounded_sort),
    "rsort": _none_or(lambda value: _bounded_sort(value, reverse=True)),
    "reverse": _none_or(lambda value: value[::-1] if isinstance(value, str) else _list("reverse", value)[::-1]),
    "merge": _none_or(_merge),
    "keys": _none_or(_keys),
    "values": _none_or(_values),
    "chunk": _none_or(_chunk),
    "flatten": _none_or(_flatten),
    "distinct": _none_or(_distinct),
    "contains": contains,
    "entries": entries,
}
