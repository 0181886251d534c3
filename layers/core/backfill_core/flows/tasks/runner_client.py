"""The executor's side of the boundary: a Commands task is handed to the task runner function (its own
process and IAM role, never the engine's credentials), and its answer recorded as the task's outcome.

A kill reaches the running task through a marker object: the executor, which may read the kill request,
writes `kill/<execution id>` to the execution-files bucket; the runner polls one presigned URL for it."""

import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.aws_clients import lambda_client, s3
from backfill_core.flows.tasks.protocol import StoragePlace, TaskInvocation, TaskLogLine, TaskResult
from backfill_core.schedules.kestra_time import now
from backfill_core.settings import settings

KILL_PREFIX = "kill/"
KILL_POLL_SECONDS = 2.0
ANSWER_MARGIN_SECONDS = 5.0  # under the executor's own safety margin
THROTTLED_ATTEMPTS = 5
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
    storage: StoragePlace | None = None,
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
        storage=storage,
    )
    payload = invocation.model_dump_json(by_alias=True).encode()
    if len(payload) > MAX_INVOCATION_BYTES:
        log("ERROR", f"The task's rendered properties are {len(payload):,} bytes, more than a task may carry", None)
        return TaskResult(succeeded=False, outputs={"exitCode": -1})
    # The runner answers by the task's timeout; past it and a margin, the executor stops waiting (a task that
    # stopped its runner with SIGSTOP must not hold the executor to its own timeout and a redelivery).
    give_up = time.monotonic() + timeout + ANSWER_MARGIN_SECONDS
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-runner")
    running = pool.submit(_invoke_until_accepted, payload, log)
    marked = False
    try:
        while True:
            try:
                result = running.result(timeout=KILL_POLL_SECONDS)
                break
            except StillRunning:
                if time.monotonic() > give_up:
                    _mark(bucket, marker, log)
                    result = _failed(f"The task runner gave no answer within the task's {timeout:g} s; given up")
                    break
                if not marked and _asked_to_kill(killed, log):
                    marked = _mark(bucket, marker, log)
    finally:
        pool.shutdown(wait=False)
    for line in result.logs:
        log(line.level, line.message, line.timestamp)
    return result


def _mark(bucket: str, marker: str, log: LogSink) -> bool:
    """Write the kill marker; a failure leaves the task its own timeout, and the next check tries again."""
    try:
        s3().put_object(Bucket=bucket, Key=marker, Body=b"kill")
        return True
    except (BotoCoreError, ClientError) as exc:
        log("WARN", f"Could not pass the kill request to the task runner: {exc}", None)
        return False


def _invoke_until_accepted(payload: bytes, log: LogSink) -> TaskResult:
    """A throttled invocation never started the task, so it is tried again, a few times with backoff; any
    other failure to reach the runner fails the task (it may have started: trying again could run it twice)."""
    for attempt in range(THROTTLED_ATTEMPTS):
        try:
            return _invoke(payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TooManyRequestsException":
                return _failed(f"The task runner could not be invoked: {exc}")
            if attempt + 1 == THROTTLED_ATTEMPTS:
                return _failed(
                    f"The task runner stayed throttled through {THROTTLED_ATTEMPTS} tries: give it reserved "
                    "concurrency at least the executor's (TaskRunnerReservedConcurrency)"
                )
            time.sleep(min(2**attempt, 8) * random.uniform(0.5, 1.0))
        except BotoCoreError as exc:
            return _failed(f"Lost contact with the task runner: {exc}")
    raise AssertionError("unreachable")


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
        return _failed(f"The task runner failed: {reason}")
    return TaskResult.model_validate_json(body)


def _failed(message: str) -> TaskResult:
    return TaskResult(succeeded=False, outputs={"exitCode": -1}, logs=[_line("ERROR", message)])


def _line(level: str, message: str) -> TaskLogLine:
    return TaskLogLine(level=level, message=message, timestamp=now())


def _asked_to_kill(killed: Callable[[], bool], log: LogSink) -> bool:
    """A kill check that fails (a throttled read) is not a kill; the next check asks again."""
    try:
        return killed()
    except Exception as exc:  # noqa: BLE001 - any failure of the check; the task keeps its timeout
        log("WARN", f"Could not check for a kill request: {exc}", None)
        return False
