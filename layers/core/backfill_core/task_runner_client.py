"""The executor's side of the boundary: a Commands task is handed to the task runner function (its own
process and IAM role, never the engine's credentials), and its answer recorded as the task's outcome.

A kill reaches the running task through a marker object: the executor, which may read the kill request,
writes `kill/<execution id>` to the execution-files bucket; the runner polls one presigned URL for it."""

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from datetime import datetime

from .aws_clients import lambda_client, s3
from .kestra_time import now
from .settings import settings
from .task_protocol import TaskInvocation, TaskLogLine, TaskResult

KILL_PREFIX = "kill/"
KILL_POLL_SECONDS = 2.0
MAX_INVOCATION_BYTES = 6 * 1024 * 1024 - 64 * 1024  # Lambda's synchronous payload limit, less headroom

LogSink = Callable[[str, str, datetime | None], None]


def run_in_task_runner(
    task_type: str,
    props: dict,
    log: LogSink,
    timeout: float,
    killed: Callable[[], bool],
    execution_id: str,
    task_id: str,
) -> TaskResult:
    bucket, marker = settings().execution_files_bucket, f"{KILL_PREFIX}{execution_id}"
    kill_url = s3().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": marker}, ExpiresIn=int(timeout) + 300
    )
    invocation = TaskInvocation(
        task_type=task_type,
        properties=props,
        timeout_seconds=timeout,
        kill_url=kill_url,
        execution_id=execution_id,
        task_id=task_id,
    )
    payload = invocation.model_dump_json(by_alias=True).encode()
    if len(payload) > MAX_INVOCATION_BYTES:
        log("ERROR", f"The task's rendered properties are {len(payload):,} bytes, more than a task may carry", None)
        return TaskResult(succeeded=False, outputs={"exitCode": -1})
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-runner") as pool:
        running = pool.submit(_invoke, payload)
        marked = False
        while True:
            try:
                result = running.result(timeout=KILL_POLL_SECONDS)
                break
            except StillRunning:
                if not marked and _asked_to_kill(killed, log):
                    s3().put_object(Bucket=bucket, Key=marker, Body=b"kill")
                    marked = True
    for line in result.logs:
        log(line.level, line.message, line.timestamp)
    return result


def _invoke(payload: bytes) -> TaskResult:
    answer = lambda_client().invoke(
        FunctionName=settings().task_runner_function, InvocationType="RequestResponse", Payload=payload
    )
    body = answer["Payload"].read()
    if answer.get("FunctionError"):
        try:
            error = json.loads(body)
            reason = f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        except (ValueError, AttributeError):
            reason = body[:500].decode(errors="replace")
        return TaskResult(
            succeeded=False,
            outputs={"exitCode": -1},
            logs=[_line("ERROR", f"The task runner failed: {reason}")],
        )
    return TaskResult.model_validate_json(body)


def _line(level: str, message: str) -> TaskLogLine:
    return TaskLogLine(level=level, message=message, timestamp=now())


def _asked_to_kill(killed: Callable[[], bool], log: LogSink) -> bool:
    """A kill check that fails (a throttled read) is not a kill; the next check asks again."""
    try:
        return killed()
    except Exception as exc:  # noqa: BLE001 - any failure of the check; the task keeps its timeout
        log("WARN", f"Could not check for a kill request: {exc}", None)
        return False
