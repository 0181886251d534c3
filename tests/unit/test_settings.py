"""Settings: one model read at cold start, its defaults the template's, an invalid value failing the import."""

import os
import subprocess
import sys

import pytest

from backfill_core.settings import Settings, SettingsError, load_settings, settings
from local.aws_template import ROOT, LocalResources, load_template

TEMPLATE = load_template()
GLOBAL_VARIABLES = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
FUNCTIONS = [name for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
ENGINE_FUNCTIONS = ["ApiFunction", "ExecutorFunction", "SchedulerFunction"]  # those that import the layer
# Variables the template sets that are not the engine's settings: Powertools' own, and the task runner's.
# Read by the libraries (Powertools, pydantic) or by the task runner, not by settings.py.
NOT_SETTINGS = {
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_TRACE_DISABLED",
    "TASK_RUNNER_EMPTY_TMP",
    "PYDANTIC_DISABLE_PLUGINS",
}
FIELDS = {field.alias: field for field in Settings.model_fields.values()}


def function_variables(function: str) -> dict:
    own = TEMPLATE["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return {**GLOBAL_VARIABLES, **own}


def test_every_setting_the_template_gives_every_function_has_no_default_in_the_code():
    """The template is the one place of these defaults: a default here could differ from it (it did: a lease
    of 300 s against the template's 120, a task timeout of 240 s against 100)."""
    for name in GLOBAL_VARIABLES.keys() - NOT_SETTINGS:
        assert name in FIELDS, f"template.yaml sets {name}, which no setting reads"
        assert FIELDS[name].is_required(), f"{name} has a default in settings.py besides template.yaml's value"


def test_every_setting_without_a_default_is_given_to_every_function_by_the_template():
    for name, field in FIELDS.items():
        if field.is_required():
            assert name in GLOBAL_VARIABLES, f"{name} has no default and template.yaml's Globals do not set it"


def test_no_setting_with_a_default_is_also_given_a_value_in_the_template():
    """A function's own variables are its resources (references), never a second copy of a default."""
    for function in FUNCTIONS:
        for name, value in function_variables(function).items():
            if name in NOT_SETTINGS:
                continue
            assert name in FIELDS, f"{function} sets {name}, which no setting reads"
            if not FIELDS[name].is_required():
                assert isinstance(value, dict), f"{function} sets {name}={value!r}, besides its default in the code"


@pytest.mark.parametrize("function", ENGINE_FUNCTIONS)
def test_each_function_reads_the_values_the_template_gives_it(function):
    env = LocalResources(TEMPLATE, "us-east-1").function_environment(function)
    read = Settings.from_environment(env)
    assert read.lease_seconds == int(GLOBAL_VARIABLES["EXECUTION_LEASE_SECONDS"])
    assert read.task_timeout_seconds == int(GLOBAL_VARIABLES["TASK_TIMEOUT_SECONDS"])
    assert read.max_attempts == int(GLOBAL_VARIABLES["EXECUTION_MAX_ATTEMPTS"])


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("EXECUTION_MAX_ATTEMPTS", "abc", "EXECUTION_MAX_ATTEMPTS='abc': Input should be a valid integer"),
        ("EXECUTION_MAX_ATTEMPTS", "0", "EXECUTION_MAX_ATTEMPTS='0': Input should be greater than 0"),
        ("TASK_TIMEOUT_SECONDS", "-5", "TASK_TIMEOUT_SECONDS='-5': Input should be greater than 0"),
        ("EXECUTION_LEASE_SECONDS", "-1", "EXECUTION_LEASE_SECONDS='-1': Input should be greater than or equal"),
        ("BACKFILL_MAX_LABELS", "many", "BACKFILL_MAX_LABELS='many': Input should be a valid integer"),
        ("WORK_QUEUE_URL", "", "WORK_QUEUE_URL='': String should have at least 1 character"),
        ("BACKFILL_DEFAULT_CONCURRENCY", "60", "BACKFILL_DEFAULT_CONCURRENCY (60) exceeds BACKFILL_MAX_CONCURRENCY"),
    ],
)
def test_an_invalid_setting_is_refused_naming_the_variable(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert problem in str(refused.value)


def test_a_missing_setting_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.delenv("EXECUTION_LEASE_SECONDS")
    with pytest.raises(SettingsError, match="EXECUTION_LEASE_SECONDS is not set"):
        load_settings()


def test_settings_are_read_once_until_loaded_again(monkeypatch):
    first = settings()
    monkeypatch.setenv("SLOT_RESEND_SECONDS", "7")
    assert settings() is first
    assert load_settings().slot_resend_seconds == 7
    assert settings().slot_resend_seconds == 7


@pytest.mark.parametrize("function", ["api", "executor", "scheduler"])
def test_an_invalid_setting_fails_the_handlers_cold_start(function):
    """The handler module's import fails, naming the variable, as Lambda reports an Init error."""
    env = {
        **os.environ,
        "EXECUTION_MAX_ATTEMPTS": "abc",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(ROOT / "layers" / "core")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT / "functions" / function,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "SettingsError: Invalid settings: EXECUTION_MAX_ATTEMPTS='abc'" in done.stderr
