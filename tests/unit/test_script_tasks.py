"""Kestra's script tasks as the task runner runs them (Process runner, no AWS): shell and Python, Commands and
Script, with beforeCommands, interpreter, env, warningOnStdErr, inputFiles, failFast and Kestra.outputs."""

import os
import shutil

import pytest

from backfill_core.flows.tasks.protocol import TaskInvocation
from backfill_core.flows.tasks.runner import run_invocation
from backfill_core.flows.tasks.task_types import (
    COMMANDS,
    PYTHON_COMMANDS,
    PYTHON_SCRIPT,
    SHELL_SCRIPT,
    task_timeout,
    validate_task,
)


def run(task_type: str, **props):
    """One script task through the task runner's own code, in this process: its result and (level, message)."""
    invocation = TaskInvocation(
        task_type=task_type,
        properties=props,
        timeout_seconds=task_timeout(props, 30.0),
        execution_id="execution",
        task_id="task",
    )
    result = run_invocation(invocation)
    return result, [(line.level, line.message) for line in result.logs]


def messages(lines, level="INFO"):
    return [message for lvl, message in lines if lvl == level]


# --- the four types ------------------------------------------------------------------------------------


def test_a_shell_script_runs_as_one_script_with_its_outputs():
    result, lines = run(SHELL_SCRIPT, script='day=2024-01-01\necho "day $day"\necho \'::{"outputs": {"n": 3}}::\'\n')

    assert result.succeeded
    assert messages(lines) == ["day 2024-01-01"]
    assert result.outputs == {"vars": {"n": 3}, "exitCode": 0}


def test_a_python_script_runs_in_the_runners_python_and_its_kestra_outputs_become_vars():
    script = (
        "import sys\nfrom kestra import Kestra\nprint(sys.version_info[:2])\nKestra.outputs({'n': 1, 'ok': True})\n"
    )
    result, lines = run(PYTHON_SCRIPT, script=script)

    assert result.succeeded, lines
    assert messages(lines) == ["(3, 11)"]
    assert result.outputs == {"vars": {"n": 1, "ok": True}, "exitCode": 0}


def test_a_python_script_reads_pebble_booleans_and_null_as_kestra_renders_them():
    result, lines = run(PYTHON_SCRIPT, script="print(true, false, null)")

    assert result.succeeded, lines
    assert messages(lines) == ["True False None"]


def test_a_failing_python_script_fails_the_task_with_its_exit_code():
    result, lines = run(PYTHON_SCRIPT, script="print('before')\nraise SystemExit(3)")

    assert not result.succeeded
    assert result.outputs["exitCode"] == 3
    assert messages(lines) == ["before"]


def test_python_commands_run_python_files_given_as_input_files():
    main = "from kestra import Kestra\nimport helper\nKestra.outputs({'total': helper.total([1, 2, 3])})\n"
    result, lines = run(
        PYTHON_COMMANDS,
        inputFiles={"main.py": main, "helper.py": "def total(xs):\n    return sum(xs)\n"},
        commands=["python main.py", "python3 -c 'print(42)'"],
    )

    assert result.succeeded, lines
    assert result.outputs["vars"] == {"total": 6}
    assert messages(lines) == ["42"]


# --- beforeCommands, interpreter, env, failFast ------------------------------------------------------------


@pytest.mark.parametrize("task_type", [COMMANDS, SHELL_SCRIPT, PYTHON_COMMANDS, PYTHON_SCRIPT])
def test_before_commands_run_first_in_the_same_shell(task_type):
    body = {"script": "print('main')"} if task_type == PYTHON_SCRIPT else {"commands": ['echo "main $READY"']}
    if task_type == SHELL_SCRIPT:
        body = {"script": 'echo "main $READY"'}
    result, lines = run(task_type, beforeCommands=["export READY=yes", "echo before"], **body)

    assert result.succeeded, lines
    assert messages(lines) == ["before", "main" if task_type == PYTHON_SCRIPT else "main yes"]


def test_a_failing_before_command_stops_the_task_before_its_commands():
    result, lines = run(COMMANDS, beforeCommands=["false"], commands=["echo never"])

    assert not result.succeeded
    assert "never" not in messages(lines)
    assert "Command failed with exit code 1: false" in messages(lines, "ERROR")


def test_without_fail_fast_the_commands_run_on_after_a_failure_and_the_last_decides():
    result, lines = run(COMMANDS, failFast=False, commands=["false", "echo after"])

    assert result.succeeded
    assert messages(lines) == ["after"]


def test_fail_fast_may_be_a_rendered_string():
    result, lines = run(COMMANDS, failFast="false", commands=["false", "echo after"])
    assert result.succeeded and messages(lines) == ["after"]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_an_interpreter_of_the_tasks_own_runs_the_script():
    result, lines = run(SHELL_SCRIPT, interpreter=["bash", "-c"], script='echo "${BASH_VERSION:+bash}"')

    assert result.succeeded, lines
    assert messages(lines) == ["bash"]


def test_env_reaches_a_python_script_as_environment_variables():
    result, lines = run(PYTHON_SCRIPT, env={"WHO": "it's $(me)"}, script="import os\nprint(os.environ['WHO'])")

    assert result.succeeded and messages(lines) == ["it's $(me)"]


# --- warningOnStdErr -------------------------------------------------------------------------------------


def test_a_script_that_succeeds_writing_to_stderr_ends_warning_by_default_as_in_kestra():
    result, lines = run(PYTHON_SCRIPT, script="import sys\nprint('careful', file=sys.stderr)")

    assert result.succeeded and result.warning
    assert messages(lines, "WARN") == ["careful"]


def test_warning_on_stderr_off_keeps_it_a_success():
    result, _ = run(COMMANDS, warningOnStdErr=False, commands=["echo careful >&2"])
    assert result.succeeded and not result.warning


def test_a_script_without_stderr_is_no_warning_and_a_failure_is_never_one():
    quiet, _ = run(COMMANDS, commands=["echo fine"])
    failed, _ = run(COMMANDS, commands=["echo bad >&2; exit 1"])

    assert quiet.succeeded and not quiet.warning
    assert not failed.succeeded and not failed.warning


# --- inputFiles ----------------------------------------------------------------------------------------------


def test_input_files_are_written_in_the_working_directory_before_the_commands_folders_included():
    result, lines = run(
        COMMANDS,
        inputFiles={"data/day.csv": "a,b\n1,2\n", "run.sh": "echo from file"},
        commands=["cat data/day.csv", "sh run.sh"],
    )

    assert result.succeeded, lines
    assert messages(lines) == ["a,b", "1,2", "from file"]


def test_the_commands_may_change_their_input_files():
    result, lines = run(COMMANDS, inputFiles={"a.txt": "x"}, commands=["echo y >> a.txt", "cat a.txt"])
    assert result.succeeded and messages(lines) == ["xy"]


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/escape.txt", "a/../../escape.txt", ".", ""])
def test_an_input_file_name_leaving_the_working_directory_fails_the_task_before_anything_runs(name, tmp_path):
    result, lines = run(COMMANDS, inputFiles={name: "x"}, commands=["echo ran"])

    assert not result.succeeded
    assert "ran" not in messages(lines)
    assert any(message.startswith(f"inputFiles.{name}:") for message in messages(lines, "ERROR")), lines
    assert not os.path.exists("/tmp/escape.txt")


def test_two_names_for_one_input_file_are_refused():
    result, lines = run(COMMANDS, inputFiles={"a.txt": "1", "./a.txt": "2"}, commands=["cat a.txt"])

    assert not result.succeeded
    assert any("names the same file" in message for message in messages(lines, "ERROR"))


def test_an_input_file_under_another_input_file_is_refused():
    result, lines = run(COMMANDS, inputFiles={"a": "1", "a/b": "2"}, commands=["echo ran"])

    assert not result.succeeded and "ran" not in messages(lines)


# --- validation at registration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "props", "field"),
    [
        (SHELL_SCRIPT, {}, "script"),
        (PYTHON_SCRIPT, {"script": "  "}, "script"),
        (PYTHON_COMMANDS, {"commands": []}, "commands"),
        (SHELL_SCRIPT, {"script": "x", "beforeCommands": "pip install x"}, "beforeCommands"),
        (SHELL_SCRIPT, {"script": "x", "interpreter": []}, "interpreter"),
        (PYTHON_SCRIPT, {"script": "x", "inputFiles": "kestra:///files.json"}, "inputFiles"),
        (PYTHON_SCRIPT, {"script": "x", "inputFiles": {"../x.py": "1"}}, "inputFiles.../x.py"),
        (PYTHON_SCRIPT, {"script": "x", "inputFiles": {"/etc/x": "1"}}, "inputFiles./etc/x"),
        (COMMANDS, {"commands": ["x"], "warningOnStdErr": "yes"}, "warningOnStdErr"),
        (COMMANDS, {"commands": ["x"], "failFast": 1}, "failFast"),
        (PYTHON_SCRIPT, {"script": "x", "taskRunner": {"type": "x.Docker"}}, "taskRunner.type"),
    ],
)  # fmt: skip
def test_invalid_script_tasks_name_the_field(task_type, props, field):
    problem = validate_task(task_type, props)
    assert problem is not None and problem.startswith(f"{field}:"), problem


def test_valid_script_tasks():
    assert (
        validate_task(SHELL_SCRIPT, {"script": "echo hi", "beforeCommands": [], "failFast": "{{ inputs.x }}"}) is None
    )
    assert validate_task(PYTHON_COMMANDS, {"commands": ["python main.py"], "inputFiles": {"main.py": ""}}) is None
    assert validate_task(PYTHON_SCRIPT, {"script": "print(1)", "interpreter": ["/bin/bash", "-c"]}) is None
