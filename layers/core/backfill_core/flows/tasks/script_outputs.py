"""Kestra's script output convention: a line `::{"outputs": {...}}::` on stdout or stderr is not logged; its
outputs become the task's `vars` (`outputs.<taskId>.vars.*`), beside `exitCode`, and its `logs` entries
({level, message}) are logged at their level. A line that looks like one but is not valid JSON is logged as a
warning, as Kestra does."""

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backfill_core.flows.tasks.core import LOG_LEVELS

_COMMAND = re.compile(r"^::(\{.*\})::$")

LogSink = Callable[[str, str, datetime], None]


class ScriptOutputs:
    """A log sink in front of another: takes the output lines out of the stream and keeps their values."""

    def __init__(self, log: LogSink):
        self.log = log
        self.vars: dict[str, Any] = {}

    def __call__(self, level: str, message: str, at: datetime) -> None:
        found = _COMMAND.match(message)
        if not found:
            self.log(level, message, at)
            return
        try:
            command = json.loads(found.group(1))
            if not isinstance(command, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError) as exc:
            self.log("WARN", f"Invalid outputs '{message[:200]}': {exc}", at)
            return
        outputs = command.get("outputs")
        if isinstance(outputs, dict):
            self.vars.update(outputs)
        for entry in command.get("logs") or []:
            if isinstance(entry, dict) and "message" in entry:
                entry_level = str(entry.get("level", "INFO")).upper()
                self.log(entry_level if entry_level in LOG_LEVELS else "INFO", str(entry["message"]), at)
