"""What the executor sends the task runner function and what it answers: the one boundary between the
engine (tables, queue, its role) and flow code (the task runner's own role, nothing else). Each model's validator
is built on its first use (defer_build): every handler imports them, only a task sent to the runner uses them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backfill_core.flows.tasks.aws_types import AWS_TASK_TYPES
from backfill_core.flows.tasks.http_types import HTTP_DOWNLOAD_TYPES, HTTP_TASK_TYPES
from backfill_core.flows.tasks.s3_types import S3_TASK_TYPES
from backfill_core.flows.tasks.script_types import SCRIPT_TASK_TYPES

# Flow code: the task types that run in the task runner function, with its own role, apart from the engine.
RUNNER_TASK_TYPES = (*SCRIPT_TASK_TYPES, *HTTP_TASK_TYPES, *HTTP_DOWNLOAD_TYPES, *AWS_TASK_TYPES, *S3_TASK_TYPES)


class StoragePlace(BaseModel):
    """The task run's place in Kestra's internal storage, given by the engine, which knows the execution."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    bucket: str
    tenant: str
    namespace: str
    flow_id: str = Field(alias="flowId")
    task_run_id: str = Field(alias="taskRunId")
    # The kestra:// archive of the WorkingDirectory the task runs in: restored before it, saved after it.
    working_directory: str | None = Field(default=None, alias="workingDirectory")


class TaskInvocation(BaseModel):
    """One task to run, its properties already rendered by the engine."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    task_type: str = Field(alias="taskType")
    properties: dict[str, Any]
    timeout_seconds: float = Field(alias="timeoutSeconds", gt=0)
    # A presigned GET of the execution's kill marker: answers 200 once a kill was asked for. The runner's own
    # role cannot read the engine's tables, so this one URL is all it learns about the execution's fate.
    kill_url: str | None = Field(default=None, alias="killUrl")
    execution_id: str = Field(alias="executionId")
    task_id: str = Field(alias="taskId")
    # Where the task run's internal-storage files go (kestra:// URIs): the execution-files bucket's files/*.
    storage: StoragePlace | None = None


class TaskLogLine(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)
    level: str
    message: str
    timestamp: datetime


class TaskResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)
    succeeded: bool
    killed: bool = False
    # It succeeded and wrote to stderr with `warningOnStdErr` on: Kestra ends such a task WARNING.
    warning: bool = False
    outputs: dict[str, Any] = Field(default_factory=dict)
    logs: list[TaskLogLine] = Field(default_factory=list)
