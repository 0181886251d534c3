"""Kestra's core tasks that run inside the executor, touching nothing but the execution: Log, Return and
OutputValues. Their properties arrive rendered; their outputs are Kestra's (`value`, `values`)."""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

LOG = "io.kestra.plugin.core.log.Log"
LOG_LEGACY = "io.kestra.core.tasks.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
OUTPUT_VALUES = "io.kestra.plugin.core.output.OutputValues"
CORE_TASK_TYPES = (LOG, LOG_LEGACY, RETURN, OUTPUT_VALUES)


class LogLevel(StrEnum):
    """Kestra's log levels, least severe first."""

    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


LOG_LEVELS = tuple(LogLevel)


def kept_at(level: str, least: LogLevel) -> bool:
    """Whether a line of `level` is kept by a task whose `logLevel` is `least` (unknown levels are kept)."""
    return level not in LOG_LEVELS or LOG_LEVELS.index(LogLevel(level)) >= LOG_LEVELS.index(least)


LogSink = Callable[[str, str, datetime | None], None]


def validate_core_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a core task's properties as `field: problem`, or None."""
    if task_type == RETURN:
        if not isinstance(props.get("format", ""), str):
            return "format: a string (which may hold expressions) is required"
        return None
    if task_type == OUTPUT_VALUES:
        if not isinstance(props.get("values", {}), dict):
            return "values: a map of names to values is required"
        return None
    message = props.get("message")
    if not (isinstance(message, str) or (isinstance(message, list) and message)):
        return "message: a message (or a list of messages) is required"
    if str(props.get("level", "INFO")).upper() not in LOG_LEVELS:
        return f"level: must be one of {', '.join(LOG_LEVELS)}"
    return None


def run_core_task(task_type: str, props: dict[str, Any], log: LogSink) -> dict[str, Any]:
    """Run a core task with rendered properties; its outputs."""
    if task_type == RETURN:
        return {"value": props.get("format")}
    if task_type == OUTPUT_VALUES:
        return {"values": props.get("values") or {}}
    messages = props["message"] if isinstance(props["message"], list) else [props["message"]]
    for message in messages:
        log(str(props.get("level", "INFO")).upper(), str(message), None)
    return {}
