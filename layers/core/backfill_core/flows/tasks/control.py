"""Kestra's control tasks the executor runs itself: Sleep (waits, inside the executor's time budget, as long as
no kill comes) and Fail (fails the task, or only when its `condition` is true). Neither has outputs."""

import time
from typing import Any

from backfill_core.flows.tasks.task_types import KillCheck, LogSink, TaskOutcome
from backfill_core.schedules.kestra_time import parse_iso_duration

SLEEP = "io.kestra.plugin.core.flow.Sleep"
FAIL = "io.kestra.plugin.core.execution.Fail"
CONTROL_TASK_TYPES = (SLEEP, FAIL)
MAX_SLEEP_SECONDS = 15 * 60  # a Lambda's longest invocation: a longer sleep could never end inside one
KILL_CHECK_SECONDS = 1.0
FALSE_VALUES = ("false", "0", "-0", "")  # Kestra's rendered strings that mean false


def is_truthy(rendered: Any) -> bool:
    """Kestra's truth of a rendered condition: anything but null, '', '0', '-0' and 'false'."""
    if isinstance(rendered, bool):
        return rendered
    return rendered is not None and str(rendered) not in FALSE_VALUES


def validate_control_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a Sleep's or a Fail's properties as `field: problem`, or None."""
    if task_type == FAIL:
        for name in ("condition", "errorMessage"):
            if name in props and not isinstance(props[name], str):
                return f"{name}: a string (which may hold expressions) is required"
        return None
    duration = props.get("duration")
    if not isinstance(duration, str):
        return "duration: an ISO-8601 duration such as PT5S is required"
    if "{{" in duration:
        return None
    try:
        seconds = parse_iso_duration(duration).total_seconds()
    except ValueError as exc:
        return f"duration: {exc}"
    if seconds > MAX_SLEEP_SECONDS:
        return f"duration: {duration} is longer than the {MAX_SLEEP_SECONDS // 60} minutes an executor may run"
    return None


def run_control_task(
    task_type: str, props: dict[str, Any], log: LogSink, budget_seconds: float, killed: KillCheck
) -> TaskOutcome:
    """Run a Sleep or a Fail with rendered properties (`budget_seconds` is what the executor has left)."""
    if task_type == FAIL:
        message = str(props.get("errorMessage", "Task failure"))
        if "condition" in props and not is_truthy(props["condition"]):
            return TaskOutcome(succeeded=True)
        log("ERROR", message if "condition" not in props else f"{message} (failed on its condition)", None)
        return TaskOutcome(succeeded=False)
    duration = str(props["duration"])
    seconds = parse_iso_duration(duration).total_seconds()
    if seconds > budget_seconds:
        log("ERROR", f"Sleep of {duration} not done: the executor has {budget_seconds:.0f} s left of its budget", None)
        return TaskOutcome(succeeded=False)
    timeout = parse_iso_duration(str(props["timeout"])).total_seconds() if props.get("timeout") else None
    log("INFO", f"Waiting for {duration}", None)
    deadline = time.monotonic() + min(seconds, timeout if timeout is not None else seconds)
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, KILL_CHECK_SECONDS))
        if killed():
            return TaskOutcome(succeeded=False, killed=True)
    if timeout is not None and timeout < seconds:
        log("ERROR", f"Timeout after {props['timeout']}", None)
        return TaskOutcome(succeeded=False)
    return TaskOutcome(succeeded=True)
