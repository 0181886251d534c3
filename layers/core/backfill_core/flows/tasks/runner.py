"""The task runner's side of the boundary: one invocation, one task, its result and log lines.

It knows nothing of the engine: no table, no queue, no credentials but its own role's. What it learns of
the execution's fate is one presigned URL that answers once a kill was asked for."""

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from datetime import UTC, datetime
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.flows.tasks.aws_tasks import run_aws_task
from backfill_core.flows.tasks.aws_types import AWS_TASK_TYPES
from backfill_core.flows.tasks.http_download import run_http_download
from backfill_core.flows.tasks.http_request import run_http_request
from backfill_core.flows.tasks.http_types import HTTP_DOWNLOAD_TYPES, HTTP_TASK_TYPES
from backfill_core.flows.tasks.internal_storage import TaskStorage
from backfill_core.flows.tasks.protocol import RUNNER_TASK_TYPES, TaskInvocation, TaskLogLine, TaskResult
from backfill_core.flows.tasks.s3_tasks import run_s3_task
from backfill_core.flows.tasks.s3_types import S3_TASK_TYPES
from backfill_core.flows.tasks.script_outputs import ScriptOutputs
from backfill_core.flows.tasks.script_tasks import run_script_task

KILL_CHECK_TIMEOUT_SECONDS = 5.0
KILL_POLL_SECONDS = 1.0


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


def _killable(
    work: Callable[[], tuple[bool, dict]], killed: Callable[[], bool], log, logs, stop: threading.Event
) -> TaskResult:
    """Run a request (HTTP or AWS) while watching for a kill: on one, the task ends KILLED at once, and the
    request, left to its own timeout, can no longer change the task's result (`stop` tells a download to
    end its transfer and store nothing)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
    running = pool.submit(work)
    try:
        while True:
            try:
                succeeded, outputs = running.result(timeout=KILL_POLL_SECONDS)
                return TaskResult(succeeded=succeeded, outputs=outputs, logs=list(logs))
            except StillRunning:
                if _asked_to_kill(killed, log):
                    stop.set()
                    log("WARN", "Task killed on request while its request was running", datetime.now().astimezone())
                    return TaskResult(succeeded=False, killed=True, logs=list(logs))
    finally:
        pool.shutdown(wait=False)


def _asked_to_kill(killed: Callable[[], bool], log) -> bool:
    """A kill check that fails (a throttled read) is not a kill; the next check asks again."""
    try:
        return killed()
    except Exception as exc:  # noqa: BLE001 - any failure of the check; the task keeps its timeout
        log("WARN", f"Could not check for a kill request: {exc}", datetime.now().astimezone())
        return False


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
    if invocation.task_type not in RUNNER_TASK_TYPES:
        kinds = ", ".join(RUNNER_TASK_TYPES)
        raise ValueError(f"the task runner runs flow code ({kinds}), not {invocation.task_type}")
    logs: list[TaskLogLine] = []

    def log(level: str, message: str, at: datetime) -> None:
        logs.append(TaskLogLine(level=level, message=message, timestamp=at))

    kind, props, timeout = invocation.task_type, invocation.properties, invocation.timeout_seconds
    if kind in (*HTTP_TASK_TYPES, *HTTP_DOWNLOAD_TYPES, *AWS_TASK_TYPES, *S3_TASK_TYPES):
        stop = threading.Event()
        if kind in HTTP_TASK_TYPES:
            call = partial(run_http_request, props, timeout, log)
        elif kind in HTTP_DOWNLOAD_TYPES:
            call = partial(run_http_download, props, timeout, task_storage(invocation), log, stop)
        elif kind in AWS_TASK_TYPES:
            call = partial(run_aws_task, kind, props, timeout, log)
        else:
            call = partial(_run_s3_task, invocation, log)
        return _killable(call, kill_marker_check(invocation.kill_url), log, logs, stop)
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


def _run_s3_task(invocation: TaskInvocation, log) -> tuple[bool, dict]:
    """An S3 task, with the runner's own role: a refusal or AWS's error fails it, named in its log."""
    try:
        outputs = run_s3_task(
            invocation.task_type,
            invocation.properties,
            task_storage(invocation),
            lambda level, message: log(level, message, datetime.now(UTC)),
        )
    except (ValueError, ClientError, BotoCoreError) as exc:
        log("ERROR", f"{invocation.task_id}: {exc}", datetime.now(UTC))
        return False, {}
    return True, outputs
