"""The task runner's side of the boundary: one invocation, one task, its result and log lines.

It knows nothing of the engine: no table, no queue, no credentials but its own role's. What it learns of
the execution's fate is one presigned URL that answers once a kill was asked for."""

import urllib.error
import urllib.request
from datetime import datetime

from backfill_core.flows.tasks.internal_storage import TaskStorage
from backfill_core.flows.tasks.protocol import TaskInvocation, TaskLogLine, TaskResult
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
    )


def run_invocation(invocation: TaskInvocation) -> TaskResult:
    if invocation.task_type not in SCRIPT_TASK_TYPES:
        kinds = ", ".join(SCRIPT_TASK_TYPES)
        raise ValueError(f"the task runner runs script tasks ({kinds}), not {invocation.task_type}")
    logs: list[TaskLogLine] = []

    def log(level: str, message: str, at: datetime) -> None:
        logs.append(TaskLogLine(level=level, message=message, timestamp=at))

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
