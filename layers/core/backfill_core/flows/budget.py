"""What one executor invocation can give a task: a task whose declared timeout is longer could never run to it."""

from typing import Any

from backfill_core.flows.properties import task_places
from backfill_core.schedules.kestra_time import parse_iso_duration


def over_budget(document: dict[str, Any], limit: int) -> list[str]:
    """Every task timeout past `limit` seconds (TASK_TIMEOUT_SECONDS), as `path: why` (a badly written one is
    the model's to refuse). `document` is the flow as it runs: its plugin defaults merged."""
    found = []
    for path, task in task_places(document):
        timeout = task.get("timeout")
        if not isinstance(timeout, str) or "{{" in timeout:
            continue
        try:
            seconds = parse_iso_duration(timeout).total_seconds()
        except ValueError:
            continue
        if seconds > limit:
            found.append(
                f"{path}.timeout: {timeout} is longer than the {limit} seconds a task may run in one executor "
                "invocation (TASK_TIMEOUT_SECONDS); split the work or raise the setting"
            )
    return found
