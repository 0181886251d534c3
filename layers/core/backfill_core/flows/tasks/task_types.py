"""The task types a flow may use: shell Commands (Process runner), run by the task runner, and the core tasks
the executor runs itself (Log, Return, OutputValues)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backfill_core.flows.tasks.core import (
    CORE_TASK_TYPES,
    LOG,
    LOG_LEGACY,
    LOG_LEVELS,
    run_core_task,
    validate_core_task,
)
from backfill_core.flows.tasks.runner_client import run_in_task_runner
from backfill_core.schedules.kestra_time import parse_iso_duration

COMMANDS = "io.kestra.plugin.scripts.shell.Commands"
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
SUPPORTED_TASK_TYPES = (COMMANDS, *CORE_TASK_TYPES)
__all__ = ["COMMANDS", "LOG", "LOG_LEGACY", "LOG_LEVELS", "SUPPORTED_TASK_TYPES", "run_task", "validate_task"]

LogSink = Callable[[str, str, datetime | None], None]
"""Receives (level, message, when: None for now) as the task produces them."""
KillCheck = Callable[[], bool]
"""True once someone asked for the execution to be killed."""


@dataclass
class TaskOutcome:
    succeeded: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    killed: bool = False


def validate_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a task's properties as `field: problem`, or None."""
    if task_type == COMMANDS:
        commands = props.get("commands")
        if not isinstance(commands, list) or not commands or not all(isinstance(c, str) for c in commands):
            return "commands: a non-empty list of shell commands is required"
        runner = props.get("taskRunner")
        if runner is not None and (not isinstance(runner, dict) or runner.get("type") != PROCESS_RUNNER):
            return f"taskRunner.type: only '{PROCESS_RUNNER}' is supported"
        if props.get("runner") not in (None, "PROCESS"):
            return "runner: only PROCESS is supported"
        if "env" in props and not isinstance(props["env"], dict):
            return "env: a map of variable names to values is required"
    else:
        problem = validate_core_task(task_type, props)
        if problem:
            return problem
    timeout = props.get("timeout")
    if isinstance(timeout, str) and "{{" not in timeout:
        try:
            parse_iso_duration(timeout)
        except ValueError as exc:
            return f"timeout: {exc}"
    return None


def task_timeout(props: dict[str, Any], budget_seconds: float) -> float:
    """The task's own timeout, never more than what the executor has left to give it."""
    if props.get("timeout"):
        return min(budget_seconds, parse_iso_duration(str(props["timeout"])).total_seconds())
    return budget_seconds


def run_task(
    task_type: str,
    props: dict[str, Any],
    log: LogSink,
    budget_seconds: float,
    killed: KillCheck = lambda: False,
    *,
    execution_id: str = "",
    task_id: str = "",
) -> TaskOutcome:
    """Run one task with rendered properties; `budget_seconds` bounds it whatever its own timeout says. A core
    task runs here; a Commands task, flow code, runs in the task runner function, apart from the engine."""
    timeout = task_timeout(props, budget_seconds)
    if task_type == COMMANDS:
        result = run_in_task_runner(task_type, props, log, timeout, killed, execution_id, task_id)
        return TaskOutcome(succeeded=result.succeeded, outputs=result.outputs, killed=result.killed)
    return TaskOutcome(succeeded=True, outputs=run_core_task(task_type, props, log))
