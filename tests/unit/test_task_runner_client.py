"""The executor's side of the task runner: a throttled invocation is tried again, a lost one fails the task
once (never runs it twice), and a runner that stops answering does not hold the executor past the task."""

import io
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backfill_core.flows.tasks import runner_client as task_runner_client
from backfill_core.flows.tasks.task_types import COMMANDS

ANSWER = {"succeeded": True, "killed": False, "outputs": {"exitCode": 0}, "logs": []}


class FakeS3:
    def __init__(self):
        self.marked: list[str] = []

    def generate_presigned_url(self, operation, Params, ExpiresIn):  # noqa: N803 - boto3's names
        return f"http://s3.local/{Params['Bucket']}/{Params['Key']}"

    def put_object(self, Bucket, Key, Body):  # noqa: N803
        self.marked.append(Key)


class FakeLambda:
    def __init__(self, *behaviours):
        self.behaviours = list(behaviours)
        self.calls = 0

    def invoke(self, **_):
        self.calls += 1
        behaviour = self.behaviours.pop(0) if self.behaviours else "answer"
        if behaviour == "throttled":
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate"}}, "Invoke")
        if behaviour == "lost":
            raise EndpointConnectionError(endpoint_url="http://lambda.local")
        if behaviour == "silent":
            threading.Event().wait(30)
        return {"Payload": io.BytesIO(json.dumps(ANSWER).encode())}


@pytest.fixture
def fakes(monkeypatch):
    s3 = FakeS3()
    monkeypatch.setattr(task_runner_client, "s3", lambda: s3)
    monkeypatch.setattr(task_runner_client.time, "sleep", lambda seconds: None)  # the throttle backoff
    return s3


def run(monkeypatch, runner: FakeLambda, timeout: float = 30.0):
    monkeypatch.setattr(task_runner_client, "lambda_client", lambda: runner)
    lines: list[tuple[str, str]] = []
    result = task_runner_client.run_in_task_runner(
        COMMANDS,
        {"commands": ["true"]},
        lambda level, message, at: lines.append((level, message)),
        timeout,
        lambda: False,
        "execution",
        "task",
    )
    return result, lines


def test_a_throttled_invocation_is_tried_again_and_runs_once(monkeypatch, fakes):
    runner = FakeLambda("throttled", "throttled", "answer")

    result, _ = run(monkeypatch, runner)

    assert result.succeeded and runner.calls == 3


def test_a_lost_invocation_fails_the_task_once_instead_of_crashing_the_executor(monkeypatch, fakes):
    runner = FakeLambda("lost")

    result, lines = run(monkeypatch, runner)

    assert not result.succeeded and runner.calls == 1
    assert lines[0][0] == "ERROR" and lines[0][1].startswith("Lost contact with the task runner")


def test_a_runner_throttled_throughout_fails_the_task_naming_reserved_concurrency(monkeypatch, fakes):
    runner = FakeLambda(*["throttled"] * 10)

    result, lines = run(monkeypatch, runner)

    assert not result.succeeded and runner.calls == task_runner_client.THROTTLED_ATTEMPTS
    assert "TaskRunnerReservedConcurrency" in lines[0][1]


def test_a_runner_that_stops_answering_is_given_up_after_the_task_timeout_and_told_to_stop(monkeypatch, fakes):
    monkeypatch.setattr(task_runner_client, "ANSWER_MARGIN_SECONDS", 0.2)
    monkeypatch.setattr(task_runner_client, "KILL_POLL_SECONDS", 0.1)
    started = time.monotonic()

    result, lines = run(monkeypatch, FakeLambda("silent"), timeout=0.5)

    assert time.monotonic() - started < 5
    assert not result.succeeded
    assert "gave no answer" in lines[0][1]
    assert fakes.marked == ["kill/execution"]
