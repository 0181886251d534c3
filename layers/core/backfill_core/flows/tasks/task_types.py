"""The task types a flow may use: the script tasks (shell and Python, Commands and Script, Process runner), the
HTTP Request and Download and the AWS tasks (Lambda Invoke, SQS and SNS Publish), run by the task runner, and the
core tasks the executor runs itself (Log, Return, OutputValues)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backfill_core.flows.tasks.aws_types import AWS_TASK_TYPES, validate_aws_task
from backfill_core.flows.tasks.core import (
    CORE_TASK_TYPES,
    LOG,
    LOG_LEGACY,
    LOG_LEVELS,
    run_core_task,
    validate_core_task,
)
from backfill_core.flows.tasks.http_types import (
    HTTP_DOWNLOAD_TYPES,
    HTTP_TASK_TYPES,
    validate_download_task,
    validate_http_task,
)
from backfill_core.flows.tasks.protocol import RUNNER_TASK_TYPES, StoragePlace
from backfill_core.flows.tasks.runner_client import run_in_task_runner
from backfill_core.flows.tasks.s3_types import S3_TASK_TYPES, validate_s3_task
from backfill_core.flows.tasks.script_types import (
    COMMANDS,
    PROCESS_RUNNER,
    PYTHON_COMMANDS,
    PYTHON_SCRIPT,
    SCRIPT_TASK_TYPES,
    SHELL_SCRIPT,
    validate_script_task,
)
from backfill_core.schedules.kestra_time import parse_iso_duration

SUPPORTED_TASK_TYPES = (*RUNNER_TASK_TYPES, *CORE_TASK_TYPES)
__all__ = [
    "COMMANDS",
    "LOG",
    "LOG_LEGACY",
    "LOG_LEVELS",
    "PROCESS_RUNNER",
    "PYTHON_COMMANDS",
    "PYTHON_SCRIPT",
    "SCRIPT_TASK_TYPES",
    "SHELL_SCRIPT",
    "SUPPORTED_TASK_TYPES",
    "run_task",
    "validate_task",
]

LogSink = Callable[[str, str, datetime | None], None]
"""Receives (level, message, when: None for now) as the task produces them."""
KillCheck = Callable[[], bool]
"""True once someone asked for the execution to be killed."""


@dataclass
class TaskOutcome:
    succeeded: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    killed: bool = False
    warning: bool = False  # succeeded, but Kestra ends it WARNING (a script wrote to stderr, warningOnStdErr)


def validate_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a task's properties as `field: problem`, or None."""
    if task_type in SCRIPT_TASK_TYPES:
        problem = validate_script_task(task_type, props)
    elif task_type in HTTP_TASK_TYPES:
        problem = validate_http_task(props)
    elif task_type in HTTP_DOWNLOAD_TYPES:
        problem = validate_download_task(props)
    elif task_type in AWS_TASK_TYPES:
        problem = validate_aws_task(task_type, props)
    elif task_type in S3_TASK_TYPES:
        problem = validate_s3_task(task_type, props)
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
    storage: StoragePlace | None = None,
) -> TaskOutcome:
    """Run one task with rendered properties; `budget_seconds` bounds it whatever its own timeout says. A core
    task runs here; flow code (a script, an HTTP or an AWS task) runs in the task runner function, apart from
    the engine: its requests never carry the engine's credentials."""
    timeout = task_timeout(props, budget_seconds)
    if task_type in RUNNER_TASK_TYPES:
        result = run_in_task_runner(task_type, props, log, timeout, killed, execution_id, task_id, storage)
        return TaskOutcome(
            succeeded=result.succeeded, outputs=result.outputs, killed=result.killed, warning=result.warning
        )
    return TaskOutcome(succeeded=True, outputs=run_core_task(task_type, props, log))
