import shutil
import tempfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local import moto_gate
from local.aws_template import LocalResources, load_template
from local.lambda_runtime import ensure_layer_on_path
from local.moto_thread_safety import serialize_moto_requests
from local.stack import free_port
from local.task_runner import TaskRunnerProcess

ensure_layer_on_path()

from backfill_core import aws_clients  # noqa: E402
from backfill_core.settings import forget_settings, load_settings  # noqa: E402
from backfill_core.storage import flows_repository  # noqa: E402
from tests.flows import QUICK, flaky  # noqa: E402
from tests.harness import Harness  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_FLOWS = ROOT / "examples" / "flows"
TEMPLATE_SETTINGS = LocalResources(load_template(), "us-east-1").function_environment()


@pytest.fixture(autouse=True)
def template_settings(monkeypatch):
    """Every test starts from the environment template.yaml gives every function (the settings that have no
    default in the code), read afresh on first use: the handlers a test loads read it at their import, as a
    cold start does. A test changing a setting after that uses `set_setting`."""
    for key, value in TEMPLATE_SETTINGS.items():
        monkeypatch.setenv(key, value)
    forget_settings()
    yield
    forget_settings()


@pytest.fixture
def set_setting(monkeypatch):
    """Change (or, with None, unset) a setting mid-test: the variable, then the settings read again, as the
    next cold start would read them."""

    def change(name: str, value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
        load_settings()

    return change


@pytest.fixture(scope="session")
def task_runner():
    """The task runner function as the local stack runs it: a process apart, reached through Lambda's Invoke
    API; and S3 on a port of its own, so that process can read the kill marker's presigned URL (moto's S3
    behind the server shares the in-process backends the tests use), which the runner reaches with a key that
    opens S3 only, as its role does. Both ask for the stack's key, as the local stack's do, so a flow that finds
    their ports can do nothing with them."""
    key, runner_key = moto_gate.new_key(), moto_gate.new_key()
    moto_gate.send_key_with_every_request(key)
    s3_port = free_port()
    s3_server = moto_gate.GatedMotoServer("127.0.0.1", s3_port, key, runner_key=runner_key)
    s3_server.start()
    s3_url = f"http://127.0.0.1:{s3_port}"
    runner = TaskRunnerProcess(workers=2, timeout=115.0, key=key, s3_url=s3_url, runner_key=runner_key)
    yield {"AWS_ENDPOINT_URL_LAMBDA": runner.url, "AWS_ENDPOINT_URL_S3": s3_url}
    runner.stop()
    s3_server.stop()


@pytest.fixture
def aws(monkeypatch, task_runner):
    """moto in-process, with the tables, queues and bucket of template.yaml and the functions' environment;
    flow tasks run in the task runner process."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "BACKFILL_API_TOKEN", "API_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in task_runner.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    serialize_moto_requests()  # executors in threads need AWS's atomic writes and sends
    with mock_aws():
        aws_clients.reset()
        flows_repository.forget_all()  # flows an executor read from an earlier test's tables
        resources = LocalResources(load_template(), "us-east-1")
        resources.create(boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3"), boto3.client("events"))
        for function in ("ExecutorFunction", None):
            for key, value in resources.function_environment(function).items():
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
def readable_tmp():
    """A folder flow commands may read: when the tests run as root, they run as `nobody`, to whom pytest's
    own temporary folders are closed."""
    folder = Path(tempfile.mkdtemp(prefix="flow-readable-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def marker(readable_tmp):
    """The file whose existence fixes the `flaky` flow."""
    return readable_tmp / "fixed"


@pytest.fixture
def flaky_flow(stack, marker):
    assert stack.call("POST", "/api/v1/flows", flaky(str(marker)), "application/x-yaml").status == 200
    return stack


@pytest.fixture
def crashable(stack, set_setting):
    """The work queue's visibility timeout and the attempt lease shortened to a second."""
    set_setting("EXECUTION_LEASE_SECONDS", "1")
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "1"})
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack
