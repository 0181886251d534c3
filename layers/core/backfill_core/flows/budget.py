"""What one executor invocation can give a task: a task whose declared timeout is longer could never run to it."""

from typing import Any

from backfill_core.schedules.kestra_time import parse_iso_duration

TASK_LISTS = ("tasks", "errors", "finally")


def _timeouts(node: Any, path: str):
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _timeouts(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        timeout = node.get("timeout")
        if "type" in node and isinstance(timeout, str) and "{{" not in timeout:
            yield f"{path}.timeout", timeout
        for key, value in node.items():
            if isinstance(value, list | dict):
                yield from _timeouts(value, f"{path}.{key}")


def over_budget(document: dict[str, Any], limit: int) -> list[str]:
    """Every task timeout past `limit` seconds (TASK_TIMEOUT_SECONDS), as `path: why` (a badly written one is
    the model's to refuse)."""
    found = []
    for key in TASK_LISTS:
        for path, timeout in _timeouts(document.get(key), key):
            try:
                seconds = parse_iso_duration(timeout).total_seconds()
            except ValueError:
                continue
            if seconds > limit:
                found.append(
                    f"{path}: {timeout} is longer than the {limit} seconds a task may run in one executor "
                    "invocation (TASK_TIMEOUT_SECONDS); split the work or raise the setting"
                )
    return found
