"""The task runner's side of the boundary: one invocation, one task, its result and log lines.

It knows nothing of the engine: no table, no queue, no credentials but its own role's. What it learns of
the execution's fate is one presigned URL that answers once a kill was asked for."""

import urllib.error
import urllib.request
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.flows.tasks.internal_storage import TaskStorage
from backfill_core.flows.tasks.protocol import TaskInvocation, TaskLogLine, TaskResult
from backfill_core.flows.tasks.s3_tasks import run_s3_task
from backfill_core.flows.tasks.s3_types import S3_TASK_TYPES
from backfill_core.flows.tasks.script_outputs import ScriptOutputs
from backfill_core.flows.tasks.script_tasks import run_script_task
from backfill_core.flows.tasks.script_types import SCRIPT_TASK_TYPES

KILL_CHECK_TIMEOUT_SECONDS = 5.0


def kill_marker_check(url: str | None):
    def killed() -> bool:
        if not url:
            return False
        try:
            with urllib.request.urlopen(url, timeout=KILL_CHECK_TIMEOUT_SECONDS) as answer:  # noqa: S310 - our URL
                return answer.status == 200
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404):  # no marker (S3 answers 403 when the signer may not list the bucket)
                return False
            raise

    return killed


def task_storage(invocation: TaskInvocation) -> TaskStorage | None:
    place = invocation.storage
    if place is None:
        return None
    return TaskStorage(
        bucket=place.bucket,
        tenant=place.tenant,
        namespace=place.namespace,
        flow_id=place.flow_id,
        execution_id=invocation.execution_id,
        task_id=invocation.task_id,
        task_run_id=place.task_run_id,
        working_directory=place.working_directory,
    )


def run_invocation(invocation: TaskInvocation) -> TaskResult:
    logs: list[TaskLogLine] = []

    def log(level: str, message: str, at: datetime) -> None:
        logs.append(TaskLogLine(level=level, message=message, timestamp=at))

    if invocation.task_type in S3_TASK_TYPES:
        return _run_aws_task(invocation, log, logs)
    if invocation.task_type not in SCRIPT_TASK_TYPES:
        kinds = ", ".join((*SCRIPT_TASK_TYPES, *S3_TASK_TYPES))
        raise ValueError(f"the task runner runs {kinds}, not {invocation.task_type}")

    script_outputs, output_files = ScriptOutputs(log), dict[str, str]()
    outcome, warning = run_script_task(
        invocation.task_type,
        invocation.properties,
        script_outputs,
        invocation.timeout_seconds,
        kill_marker_check(invocation.kill_url),
        task_storage(invocation),
        output_files,
    )
    outputs = {"vars": script_outputs.vars, "exitCode": outcome.exit_code}
    if invocation.properties.get("outputFiles"):
        outputs["outputFiles"] = output_files
    return TaskResult(succeeded=outcome.succeeded, killed=outcome.killed, warning=warning, outputs=outputs, logs=logs)


def _run_aws_task(invocation: TaskInvocation, log, logs: list[TaskLogLine]) -> TaskResult:
    """An AWS task, with the runner's own role: a refusal or AWS's error fails it, named in its log."""
    try:
        outputs = run_s3_task(
            invocation.task_type,
            invocation.properties,
            task_storage(invocation),
            lambda level, message: log(level, message, datetime.now(UTC)),
        )
    except (ValueError, ClientError, BotoCoreError) as exc:
        log("ERROR", f"{invocation.task_id}: {exc}", datetime.now(UTC))
        return TaskResult(succeeded=False, logs=logs)
    return TaskResult(succeeded=True, outputs=outputs, logs=logs)
