"""template.yaml: SAM accepts it and builds it, and it says what the product promises."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.aws_template import ROOT, load_template, resources_of_type


def sam() -> str:
    found = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if not found:
        pytest.fail("the SAM CLI is not installed; `make test` installs it from requirements-dev.txt")
    return found


def run_sam(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run([sam(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.sam
def test_sam_validate_lint_passes():
    result = run_sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.sam
def test_sam_build_packs_the_layer_and_the_functions(tmp_path):
    build = tmp_path / "build"
    result = run_sam("build", "--build-dir", str(build), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    layer = build / "CoreLayer" / "python"
    assert (layer / "backfill_core" / "slot_runner.py").is_file()
    assert (layer / "croniter").is_dir()
    assert (layer / "aws_lambda_powertools").is_dir()
    for function in ("ApiFunction", "ExecutorFunction", "SchedulerFunction", "TaskRunnerFunction"):
        assert (build / function / "app.py").is_file()


def test_every_policy_names_its_resources():
    template = load_template()
    for name, props in resources_of_type(template, "AWS::Serverless::Function").items():
        for policy in props["Policies"]:
            for statement in policy["Statement"]:
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    assert resource != "*", f"{name} has a wildcard resource"
                assert all("*" not in action for action in statement["Action"]), f"{name} has a wildcard action"


def test_the_queue_has_a_dead_letter_queue_and_the_executor_reports_partial_failures():
    template = load_template()
    queue = template["Resources"]["WorkQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]}
    executor = template["Resources"]["ExecutorFunction"]["Properties"]
    source = executor["Events"]["WorkQueue"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BatchSize"] == 1  # each slot's flow gets the invocation's whole time budget
    assert "MaximumConcurrency" in source["ScalingConfig"]
    # A redelivered message must find the dead attempt's lease expired, and the visibility timeout must
    # cover a whole invocation.
    lease = int(template["Globals"]["Function"]["Environment"]["Variables"]["EXECUTION_LEASE_SECONDS"])
    assert lease <= executor["Timeout"] <= queue["VisibilityTimeout"]
    attempts = int(template["Globals"]["Function"]["Environment"]["Variables"]["EXECUTION_MAX_ATTEMPTS"])
    assert queue["RedrivePolicy"]["maxReceiveCount"] > attempts
    # The watchdog re-sends a slot only once no message for it can still be on its way.
    resend = int(template["Globals"]["Function"]["Environment"]["Variables"]["SLOT_RESEND_SECONDS"])
    assert resend > queue["VisibilityTimeout"] + lease


def test_the_api_is_iam_authenticated_and_the_layer_builds_with_the_runtime():
    template = load_template()
    assert template["Resources"]["BackfillApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"
    assert template["Resources"]["CoreLayer"]["Metadata"]["BuildMethod"] == "python3.11"


def test_the_task_runners_role_reaches_only_the_flows_files_never_the_engines_tables_or_queue():
    runner = load_template()["Resources"]["TaskRunnerFunction"]["Properties"]
    statements = [s for policy in runner["Policies"] for s in policy["Statement"]]

    actions = {action for statement in statements for action in statement["Action"]}
    resources = [statement["Resource"] for statement in statements]
    assert all(action.startswith("s3:") for action in actions), actions
    assert resources == [{"Fn::Sub": "${ExecutionFilesBucket.Arn}/files/*"}]
    assert runner.get("Events") is None  # nothing but the executor invokes it
