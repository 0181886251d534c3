"""Lambda handler of the task runner: runs one flow task apart from the engine, with a role of its own.

Nothing a task starts survives it: the process is the reaper of its tasks' processes and kills them all
after each task, and empties /tmp when TASK_RUNNER_EMPTY_TMP is set (Lambda keeps it between invocations)."""

import os

from aws_lambda_powertools import Logger

from backfill_core.flows.tasks import isolation
from backfill_core.flows.tasks.protocol import TaskInvocation
from backfill_core.flows.tasks.runner import run_invocation

logger = Logger(service="task_runner")
_unprotected = isolation.contain_this_process()
if _unprotected:
    logger.warning("task containment incomplete", extra={"missing": _unprotected})


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    invocation = TaskInvocation.model_validate(event)
    logger.append_keys(execution_id=invocation.execution_id, task_id=invocation.task_id)
    try:
        return run_invocation(invocation).model_dump(mode="json", by_alias=True)
    finally:
        stray = isolation.kill_descendants()
        if stray:
            logger.info("killed processes the task left running", extra={"count": stray})
        if os.environ.get("TASK_RUNNER_EMPTY_TMP"):
            isolation.empty_directory("/tmp")
