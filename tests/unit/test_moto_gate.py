"""The local stack's moto answers the task runner's key as AWS answers the task runner's role: S3 calls (its
flows' buckets and the internal storage), never the engine's tables or queue, nor the kill markers."""

import pytest

from local.moto_gate import ENVIRON_KEY, Gate

STACK_KEY, RUNNER_KEY = "stack-key", "runner-key"


def signed_for(service: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential=TASKRUNNERROLE/20240101/us-east-1/{service}/aws4_request, Signature=x"


def answer(key: str, service: str, path: str = "/team-data/reports/a.csv") -> str:
    statuses = []
    gate = Gate(lambda environ, start: [start("200 OK", []) or b"ok"], STACK_KEY, runner_key=RUNNER_KEY)
    environ = {ENVIRON_KEY: key, "HTTP_AUTHORIZATION": signed_for(service), "PATH_INFO": path, "REQUEST_METHOD": "PUT"}
    gate(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_the_task_runners_key_opens_s3():
    assert answer(RUNNER_KEY, "s3") == "200 OK"
    assert answer(RUNNER_KEY, "s3", "/team-data/reports/kill/a.csv") == "200 OK"  # a flow's own key named kill


@pytest.mark.parametrize("service", ["dynamodb", "sqs", "lambda", "secretsmanager"])
def test_the_task_runners_key_does_not_open_the_engines_services(service):
    assert answer(RUNNER_KEY, service, "/") == "403 Forbidden"


def test_the_task_runners_key_cannot_write_a_kill_marker():
    assert answer(RUNNER_KEY, "s3", "/executionfilesbucket/kill/some-execution") == "403 Forbidden"


def test_the_stacks_own_key_opens_everything_and_no_key_nothing():
    assert answer(STACK_KEY, "dynamodb", "/") == "200 OK"
    assert answer("", "s3") == "403 Forbidden"
