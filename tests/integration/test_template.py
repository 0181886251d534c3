"""template.yaml: SAM accepts it and builds it, and it says what the product promises."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.aws_template import ROOT, load_template, resources_of_type

FUNCTIONS = ("ApiFunction", "ExecutorFunction", "SchedulerFunction", "TaskRunnerFunction")


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


def checkov() -> Path:
    found = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not found.is_file():
        pytest.fail("checkov is not installed; `make test` installs it into .venv-checkov (requirements-checkov.txt)")
    return found


def every_condition_true(template: dict) -> dict:
    """The template with each condition's parameter defaulting to what makes the condition hold: checkov reads
    conditions with the parameters' defaults and leaves out every resource whose condition is false."""
    for condition in template.get("Conditions", {}).values():
        negated = "Fn::Not" in condition
        (reference, value) = (condition["Fn::Not"][0] if negated else condition)["Fn::Equals"]
        parameter = template["Parameters"][reference["Ref"]]
        if not negated:
            parameter["Default"] = value
        else:
            parameter["Default"] = value + 1 if parameter["Type"] == "Number" else f"{value}-on"
    return template


@pytest.mark.parametrize("options", ["defaults", "every option on"])
def test_checkov_finds_nothing_the_template_does_not_answer(options, tmp_path):
    """Every checkov finding is fixed, or suppressed in the template (Metadata: checkov: skip:) with its reason."""
    scanned = ROOT / "template.yaml"
    if options != "defaults":  # CloudFormation JSON, the short tags in their long form
        scanned = tmp_path / "template.json"
        scanned.write_text(json.dumps(every_condition_true(load_template())))
    command = [checkov(), "--file", str(scanned), "--framework", "cloudformation", "--skip-download"]
    result = subprocess.run([*command, "--output", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] == len(load_template()["Resources"]), summary
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert failed == [], "\n".join(failed)
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in report["results"]["skipped_checks"]
        if c["check_result"].get("suppress_comment", "No comment provided") in ("", "No comment provided")
    ]
    assert unexplained == [], f"suppressed without a reason: {unexplained}"
    assert result.returncode == 0, result.stderr


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
    assert (layer / "backfill_core" / "slots" / "runner.py").is_file()
    assert (layer / "croniter").is_dir()
    assert (layer / "aws_lambda_powertools").is_dir()
    for function in FUNCTIONS:
        assert (build / function / "app.py").is_file()
    # Every module with its bytecode, used unchecked (flags 0b01): Lambda's /opt and /var/task are read-only.
    modules = [m for folder in [layer, *(build / f for f in FUNCTIONS)] for m in folder.rglob("*.py")]
    missing = [m for m in modules if not Path(importlib.util.cache_from_source(str(m))).is_file()]
    assert modules and missing == []
    runner = Path(importlib.util.cache_from_source(str(layer / "backfill_core" / "slots" / "runner.py")))
    assert runner.name == "runner.cpython-311.pyc" and runner.read_bytes()[4:8] == (1).to_bytes(4, "little")


def test_every_policy_names_its_resources():
    template = load_template()
    documents = [
        (name, policy)
        for name, props in resources_of_type(template, "AWS::Serverless::Function").items()
        for policy in props.get("Policies", [])
    ]
    documents += [
        (name, policy["PolicyDocument"])
        for name, props in resources_of_type(template, "AWS::IAM::Role").items()
        for policy in props.get("Policies", [])
    ]
    for name, policy in documents:
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
    assert template["Resources"]["CoreLayer"]["Properties"]["CompatibleRuntimes"] == ["python3.11"]


def test_the_task_runners_role_reaches_only_the_flows_files_never_the_engines_tables_or_queue():
    resources = load_template()["Resources"]
    runner = resources["TaskRunnerFunction"]["Properties"]
    assert "Policies" not in runner and runner["Role"] == {"Fn::GetAtt": ["TaskRunnerRole", "Arn"]}
    role = resources["TaskRunnerRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    # Beyond Lambda's logging, only the managed policies the deployment names (FlowAwsPolicyArns).
    granted, default = role["ManagedPolicyArns"]["Fn::If"][1:]
    assert "${FlowAwsPolicyArns}" in granted["Fn::Split"][1]["Fn::Sub"]
    assert [arn["Fn::Sub"].rsplit("/", 1)[-1] for arn in default] == ["AWSLambdaBasicExecutionRole"]

    actions = {action for statement in statements for action in statement["Action"]}
    resources = [statement["Resource"] for statement in statements]
    assert all(action.startswith("s3:") for action in actions), actions
    assert resources == [{"Fn::Sub": "${ExecutionFilesBucket.Arn}/files/*"}]
    assert runner.get("Events") is None  # nothing but the executor invokes it


def test_every_table_and_queue_keeps_its_data_through_a_delete_or_a_replacement():
    template = load_template()
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue"):
        for name in resources_of_type(template, kind):
            resource = template["Resources"][name]
            assert resource.get("DeletionPolicy") == resource.get("UpdateReplacePolicy") == "Retain", name
    for name, props in resources_of_type(template, "AWS::DynamoDB::Table").items():
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["DeletionProtectionEnabled"] is True, name


def test_the_api_token_lives_in_secrets_manager_not_in_a_parameter_or_the_environment():
    template = load_template()
    assert not [name for name, p in template["Parameters"].items() if p.get("NoEcho")]
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for props in resources_of_type(template, "AWS::Serverless::Function").values():
        variables.update(props.get("Environment", {}).get("Variables", {}))
    refs = {v["Ref"] for v in variables.values() if isinstance(v, dict) and "Ref" in v}
    names = {"LogLevel", *resources_of_type(template, "AWS::DynamoDB::Table"), "WorkQueue"}
    names |= {"ExecutionFilesBucket", "TaskRunnerFunction", "FlowSecretsPrefix", "BackfillEventBus"}  # names, a prefix
    assert refs <= names, refs
    assert variables["API_TOKEN_SECRET"] == {"Fn::If": ["ApiTokenRequired", {"Ref": "ApiTokenSecret"}, ""]}
    secret = resources_of_type(template, "AWS::SecretsManager::Secret")["ApiTokenSecret"]
    assert "GenerateSecretString" in secret and "SecretString" not in secret


def test_the_ui_is_throttled_apart_and_every_function_can_reserve_its_concurrency():
    """The UI's routes need no credentials, so anonymous traffic must not be able to take the API function."""
    template = load_template()
    settings = {s["ResourcePath"]: s for s in template["Resources"]["BackfillApi"]["Properties"]["MethodSettings"]}
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(settings["/*"])
    api = template["Resources"]["ApiFunction"]["Properties"]
    open_paths = [e["Properties"]["Path"] for e in api["Events"].values() if "Auth" in e["Properties"]]
    assert open_paths, "the UI's routes have no authorizer"
    for path in open_paths:
        throttled = settings["/" + path.replace("/", "~1")]  # MethodSettings write "/" as "~1"
        assert throttled["ThrottlingRateLimit"] == {"Ref": "UiThrottlingRateLimit"}, path
    for name, props in resources_of_type(template, "AWS::Serverless::Function").items():
        condition, reserved, unreserved = props["ReservedConcurrentExecutions"]["Fn::If"]
        assert unreserved == {"Ref": "AWS::NoValue"}, name
        assert template["Parameters"][reserved["Ref"]]["Default"] == 0, name  # a new account cannot reserve any


def test_the_dead_letter_queue_alarms_on_any_message():
    template = load_template()
    alarm = resources_of_type(template, "AWS::CloudWatch::Alarm")["DeadLettersAlarm"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}}]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    queue = template["Resources"]["WorkQueue"]["Properties"]
    receives = template["Globals"]["Function"]["Environment"]["Variables"]["WORK_QUEUE_MAX_RECEIVES"]
    assert int(receives) == queue["RedrivePolicy"]["maxReceiveCount"]  # the executor knows a message's last receive


def test_a_slot_failing_on_every_delivery_is_alarmed_on_though_it_never_reaches_the_dlq():
    alarm = resources_of_type(load_template(), "AWS::CloudWatch::Alarm")["SlotsFailingRepeatedlyAlarm"]

    assert (alarm["Namespace"], alarm["MetricName"]) == ("KestraBackfills", "SlotMessagesLetGo")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "executor"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_the_forecasts_memory_is_the_functions_memory():
    """The dry run prices Lambda's GB-seconds by FUNCTION_MEMORY_MB: it must say what MemorySize says."""
    template = load_template()
    function = template["Globals"]["Function"]
    assert function["Environment"]["Variables"]["FUNCTION_MEMORY_MB"] == str(function["MemorySize"])
    assert not any("MemorySize" in props for props in resources_of_type(template, "AWS::Serverless::Function").values())
