"""Kestra's `pluginDefaults`: values given once for every task or trigger of a type (or of a package of types),
merged into each before the flow is checked and run, so that what runs is what Kestra would run.

A default fills what a task leaves out (maps merged key by key); a `forced` one wins over the task's own value.
The stored YAML stays as written; every read applies the defaults again."""

import copy
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.task_spec import TASK_LISTS

KEYS = ("type", "values", "forced")
PLUGIN_LISTS = (*TASK_LISTS, "triggers")


def _merged(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in over.items()}}
    return copy.deepcopy(over)


def _applies(default_type: str, plugin_type: Any) -> bool:
    """A class name applies to that type; a package name to every type in it (Kestra's prefix match)."""
    return isinstance(plugin_type, str) and (
        plugin_type == default_type or plugin_type.startswith(default_type.rstrip(".") + ".")
    )


def _checked(defaults: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(defaults, list):
        raise Invalid(f"{name}: a list of {{type, values, forced}} is required")
    for index, default in enumerate(defaults):
        path = f"{name}[{index}]"
        if not isinstance(default, dict):
            raise Invalid(f"{path}: a map of type, values and forced is required")
        for key in default:
            if key not in KEYS:
                raise Invalid(f"{path}.{key}: not a property of a plugin default")
        if not isinstance(default.get("type"), str) or not default["type"]:
            raise Invalid(f"{path}.type: the task or trigger type (or package) the values are for is required")
        if not isinstance(default.get("values"), dict):
            raise Invalid(f"{path}.values: a map of property values is required")
        if not isinstance(default.get("forced", False), bool):
            raise Invalid(f"{path}.forced: true or false")
    return defaults


def _apply(node: Any, defaults: list[dict[str, Any]]) -> Any:
    """Every task or trigger in `node`, nested ones too, with the defaults of its type merged in."""
    if isinstance(node, list):
        return [_apply(item, defaults) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _apply(value, defaults) if isinstance(value, list | dict) else value for key, value in node.items()}
    for default in defaults:
        if "id" in node and _applies(default["type"], node.get("type")):
            values = {key: value for key, value in default["values"].items() if key not in ("id", "type")}
            result = _merged(result, values) if default.get("forced") else _merged(values, result)
    return result


def with_plugin_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """The flow as it runs: its `pluginDefaults` (or Kestra's older name `taskDefaults`) merged into its tasks
    and triggers, in the order given (a later default over an earlier one)."""
    found = [name for name in ("pluginDefaults", "taskDefaults") if name in document]
    if not found:
        return document
    defaults = [d for name in found for d in _checked(document[name], name)]
    return {
        key: _apply(value, defaults) if key in PLUGIN_LISTS else value
        for key, value in document.items()
        if key not in found
    }
