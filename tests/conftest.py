from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local.aws_template import LocalResources, load_template
from local.lambda_runtime import ensure_layer_on_path
from local.moto_thread_safety import serialize_moto_requests

ensure_layer_on_path()

from backfill_core import aws_clients  # noqa: E402
from tests.flows import QUICK, flaky  # noqa: E402
from tests.harness import Harness  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_FLOWS = ROOT / "examples" / "flows"


@pytest.fixture
def aws(monkeypatch):
    """moto in-process, with the tables and queues of template.yaml and the functions' environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "BACKFILL_API_TOKEN", "API_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    serialize_moto_requests()  # executors in threads need AWS's atomic writes and sends
    with mock_aws():
        aws_clients.reset()
        resources = LocalResources(load_template(), "us-east-1")
        resources.create(boto3.client("dynamodb"), boto3.client("sqs"))
        for key, value in resources.function_environment().items():
            monkeypatch.setenv(key, value)
        yield resources
    aws_clients.reset()


@pytest.fixture
def stack(aws) -> Harness:
    """The handlers against moto, with the example flows registered through the API."""
    harness = Harness(aws)
    for path in sorted(SEED_FLOWS.glob("*.yaml")):
        answer = harness.call("POST", "/api/v1/flows", path.read_text(), "application/x-yaml")
        assert answer.status == 200, answer.raw
    return harness


@pytest.fixture
def marker(tmp_path):
    """The file whose existence fixes the `flaky` flow."""
    return tmp_path / "fixed"


@pytest.fixture
def flaky_flow(stack, marker):
    assert stack.call("POST", "/api/v1/flows", flaky(str(marker)), "application/x-yaml").status == 200
    return stack


@pytest.fixture
def crashable(stack, monkeypatch):
    """The work queue's visibility timeout and the attempt lease shortened to a second."""
    monkeypatch.setenv("EXECUTION_LEASE_SECONDS", "1")
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "1"})
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack
