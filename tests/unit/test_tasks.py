"""Shell Commands (Process runner) as the task runner runs them, Log as the executor runs it, and
validate_task."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from backfill_core.flows.tasks import isolation
from backfill_core.flows.tasks import shell as shell_commands
from backfill_core.flows.tasks.protocol import TaskInvocation
from backfill_core.flows.tasks.runner import run_invocation
from backfill_core.flows.tasks.task_types import (
    COMMANDS,
    LOG,
    LOG_LEGACY,
    PROCESS_RUNNER,
    run_task,
    task_timeout,
    validate_task,
)

BUDGET = 30.0


class Sink:
    """Collects (level, message) as the task logs them."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str, at=None) -> None:
        self.lines.append((level, message))

    def messages(self, level: str | None = None) -> list[str]:
        return [m for lvl, m in self.lines if level is None or lvl == level]


def run_commands(*commands: str, budget: float = BUDGET, **props):
    """One Commands task through the task runner's own code, in this process."""
    sink = Sink()
    properties = {"commands": list(commands), **props}
    invocation = TaskInvocation(
        task_type=COMMANDS,
        properties=properties,
        timeout_seconds=task_timeout(properties, budget),
        execution_id="execution",
        task_id="task",
    )
    result = run_invocation(invocation)
    for line in result.logs:
        sink(line.level, line.message)
    return result, sink


# --- Commands: output and exit codes -----------------------------------------------------------------


def test_stdout_lines_are_info_and_stderr_lines_are_warn():
    outcome, sink = run_commands("echo one; echo two", "echo oops >&2")

    assert outcome.succeeded
    assert outcome.outputs == {"vars": {}, "exitCode": 0}
    assert sink.lines == [("INFO", "one"), ("INFO", "two"), ("WARN", "oops")]


def test_each_output_line_is_its_own_log_line():
    _, sink = run_commands("printf 'a\\nb\\n\\nc'")

    assert sink.messages("INFO") == ["a", "b", "", "c"]


def test_commands_run_in_order():
    _, sink = run_commands("echo first", "echo second", "echo third")

    assert sink.messages("INFO") == ["first", "second", "third"]


def test_non_zero_exit_fails_with_exit_code_and_an_error_line_naming_the_command_and_code():
    failing = "echo bad; exit $((6 * 7))"

    outcome, sink = run_commands("echo before", failing)

    assert not outcome.succeeded
    assert outcome.outputs["exitCode"] == 42
    errors = sink.messages("ERROR")
    assert len(errors) == 1
    assert failing in errors[0]
    assert "42" in errors[0]


def test_output_lines_become_the_tasks_vars_beside_its_exit_code_and_are_not_logged():
    outcome, sink = run_commands(
        """echo '::{"outputs": {"rows": 42, "table": "events"}}::'""",
        """echo '::{"outputs": {"rows": 43}, "logs": [{"level": "WARN", "message": "late"}]}::' >&2""",
        "echo done",
    )

    assert outcome.succeeded
    assert outcome.outputs == {"vars": {"rows": 43, "table": "events"}, "exitCode": 0}
    assert sink.lines == [("WARN", "late"), ("INFO", "done")]


def test_an_output_line_that_is_not_json_is_logged_as_a_warning_and_kept_out_of_the_outputs():
    outcome, sink = run_commands("echo '::{\"outputs\": {oops}}::'")

    assert outcome.outputs == {"vars": {}, "exitCode": 0}
    assert [level for level, _ in sink.lines] == ["WARN"]
    assert sink.lines[0][1].startswith("Invalid outputs '::{")


def test_output_of_a_failing_command_is_still_logged():
    _, sink = run_commands("echo partial; echo why >&2; exit 1")

    assert ("INFO", "partial") in sink.lines
    assert ("WARN", "why") in sink.lines


def test_later_commands_do_not_run_after_a_failure():
    outcome, sink = run_commands("echo ran", "false", "echo never", "touch never.txt")

    assert not outcome.succeeded
    assert outcome.outputs["exitCode"] == 1
    assert "never" not in sink.messages("INFO")
    assert sink.messages("INFO") == ["ran"]


def test_command_not_found_fails_with_127():
    outcome, sink = run_commands("definitely-not-a-command-xyz")

    assert not outcome.succeeded
    assert outcome.outputs["exitCode"] == 127
    assert any("definitely-not-a-command-xyz" in m for m in sink.messages("ERROR"))


def test_template_like_text_is_passed_to_the_shell_as_is():
    _, sink = run_commands("echo 'processing data for 2024-03-28T06:30:00Z'")

    assert sink.messages("INFO") == ["processing data for 2024-03-28T06:30:00Z"]


def test_invalid_utf8_output_does_not_crash():
    outcome, sink = run_commands("printf 'caf\\351\\n'")

    assert outcome.succeeded
    assert sink.messages("INFO")[0].startswith("caf")


# --- Commands: working directory and environment -----------------------------------------------------


def test_each_task_runs_in_a_fresh_empty_working_directory():
    first, first_sink = run_commands("ls -A | wc -l", "echo data > marker.txt", "pwd")
    second, second_sink = run_commands("ls -A", "pwd")

    assert first.succeeded and second.succeeded
    assert first_sink.messages("INFO")[0].strip() == "0"
    assert "marker.txt" not in second_sink.messages("INFO")
    first_dir, second_dir = first_sink.messages("INFO")[-1], second_sink.messages("INFO")[-1]
    assert first_dir != second_dir
    assert first_dir != os.getcwd()


def test_the_working_directory_is_removed_after_the_task():
    _, sink = run_commands("pwd")

    assert not os.path.exists(sink.messages("INFO")[0])


def test_commands_of_one_task_share_its_working_directory():
    outcome, sink = run_commands("echo data > file.txt", "cat file.txt")

    assert outcome.succeeded
    assert sink.messages("INFO") == ["data"]


def test_env_is_passed_to_the_commands():
    outcome, sink = run_commands('echo "$GREETING $COUNT"', env={"GREETING": "hello", "COUNT": 3})

    assert outcome.succeeded
    assert sink.messages("INFO") == ["hello 3"]


def test_env_does_not_leak_between_tasks():
    run_commands("true", env={"ONLY_ONCE_XYZ": "set"})
    _, sink = run_commands('echo "[$ONLY_ONCE_XYZ]"')

    assert sink.messages("INFO") == ["[]"]


def test_commands_see_path_but_none_of_the_runners_environment(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-runner-role-secret")
    monkeypatch.setenv("TRIGGERS_TABLE", "TriggersTable")

    _, sink = run_commands('echo "$PATH"', "env")

    lines = sink.messages("INFO")
    assert lines[0] == os.environ["PATH"]
    assert not any("the-runner-role-secret" in line or "TRIGGERS_TABLE" in line for line in lines)
    assert {line.split("=", 1)[0] for line in lines[1:]} <= {"PATH", "LANG", "HOME", "TMPDIR", "PWD", "SHLVL", "_"}


def test_output_past_the_line_limit_is_dropped_and_counted_in_a_last_warning(monkeypatch):
    monkeypatch.setattr(shell_commands, "MAX_LOG_LINES", 50)

    outcome, sink = run_commands("seq 1 80")

    assert outcome.succeeded
    assert sink.messages("INFO") == [str(n) for n in range(1, 51)]
    assert sink.messages("WARN")[-1].startswith("Output cut: 30 more lines")


def test_a_line_past_the_limit_is_cut_with_a_note(monkeypatch):
    monkeypatch.setattr(shell_commands, "MAX_LINE_BYTES", 1000)

    outcome, sink = run_commands("head -c 2500 /dev/zero | tr '\\0' x; echo", "echo next")

    assert outcome.succeeded
    [cut, following] = sink.messages("INFO")
    assert cut == "x" * 1000 + " [line cut at 1,000 of 2,500 bytes]"
    assert following == "next"


def test_a_script_past_the_size_limit_fails_naming_commands_before_anything_runs(monkeypatch):
    monkeypatch.setattr(shell_commands, "MAX_SCRIPT_BYTES", 100)

    outcome, sink = run_commands("echo " + "x" * 200)

    assert not outcome.succeeded
    assert sink.messages("INFO") == []
    assert sink.messages("ERROR")[0].startswith("commands: the rendered commands are 205 bytes")


def test_a_background_process_holding_the_output_does_not_hold_the_task():
    started = time.monotonic()

    outcome, sink = run_commands("sleep 30 &", "echo done")

    assert outcome.succeeded
    assert sink.messages("INFO") == ["done"]
    assert time.monotonic() - started < 10


def test_shell_state_carries_from_one_command_to_the_next_as_in_kestra():
    outcome, sink = run_commands("mkdir sub", "cd sub", "pwd", "NAME=kestra", 'echo "$NAME"')

    assert outcome.succeeded
    assert sink.messages("INFO")[0].endswith("/sub")
    assert sink.messages("INFO")[1] == "kestra"


# --- Commands: timeouts -----------------------------------------------------------------------------


def test_task_timeout_kills_the_command_quickly():
    started = time.monotonic()

    outcome, sink = run_commands("echo started", "sleep 5", "echo never", timeout="PT1S")

    elapsed = time.monotonic() - started
    assert not outcome.succeeded
    assert outcome.outputs["exitCode"] == -1
    assert elapsed < 3
    assert "never" not in sink.messages("INFO")
    assert any("timed out" in m and "sleep 5" in m for m in sink.messages("ERROR"))


def test_budget_bounds_the_task_whatever_its_own_timeout():
    started = time.monotonic()

    outcome, sink = run_commands("sleep 5", budget=1, timeout="PT1H")

    assert not outcome.succeeded
    assert time.monotonic() - started < 3
    assert any("timed out" in m for m in sink.messages("ERROR"))


def test_timeout_kills_background_children_too():
    started = time.monotonic()

    outcome, _ = run_commands("sleep 5 & sleep 5; wait", timeout="PT0.5S")

    assert not outcome.succeeded
    assert time.monotonic() - started < 3


def test_output_before_a_timeout_is_logged():
    _, sink = run_commands("echo early; sleep 5", timeout="PT0.5S")

    assert "early" in sink.messages("INFO")


def test_budget_spent_by_earlier_commands_counts_for_later_ones():
    started = time.monotonic()

    outcome, sink = run_commands("sleep 0.4", "sleep 0.4", "sleep 5", "echo never", budget=1)

    assert not outcome.succeeded
    assert time.monotonic() - started < 3
    assert sink.messages("INFO") == []


def test_a_command_within_its_timeout_succeeds():
    outcome, sink = run_commands("echo fast", timeout="PT10S")

    assert outcome.succeeded
    assert sink.messages("INFO") == ["fast"]


# --- Log --------------------------------------------------------------------------------------------


def test_log_task_with_a_string_logs_it_at_info():
    sink = Sink()

    outcome = run_task(LOG, {"message": "hello"}, sink, BUDGET)

    assert outcome.succeeded
    assert sink.lines == [("INFO", "hello")]


def test_log_task_with_a_list_logs_each_message_in_order():
    sink = Sink()

    run_task(LOG, {"message": ["one", "two", "three"]}, sink, BUDGET)

    assert sink.lines == [("INFO", "one"), ("INFO", "two"), ("INFO", "three")]


@pytest.mark.parametrize(
    ("level", "expected"), [("WARN", "WARN"), ("error", "ERROR"), ("Debug", "DEBUG"), ("TRACE", "TRACE")]
)
def test_log_task_level(level, expected):
    sink = Sink()

    run_task(LOG, {"message": ["a", "b"], "level": level}, sink, BUDGET)

    assert sink.lines == [(expected, "a"), (expected, "b")]


def test_legacy_log_type_logs_too():
    sink = Sink()

    outcome = run_task(LOG_LEGACY, {"message": "old style", "level": "WARN"}, sink, BUDGET)

    assert outcome.succeeded
    assert sink.lines == [("WARN", "old style")]


def test_log_task_stringifies_non_string_messages():
    sink = Sink()

    run_task(LOG, {"message": [1, True]}, sink, BUDGET)

    assert sink.messages() == ["1", "True"]


# --- validate_task ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "props",
    [
        {"commands": ["echo hi"]},
        {"commands": ["echo hi"], "taskRunner": {"type": PROCESS_RUNNER}},
        {"commands": ["echo hi"], "runner": "PROCESS"},
        {"commands": ["echo hi"], "env": {"A": "1"}, "timeout": "PT5M"},
        {"commands": ["echo hi"], "timeout": "{{ inputs.timeout }}"},
    ],
)
def test_valid_commands_tasks(props):
    assert validate_task(COMMANDS, props) is None


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({}, "commands"),
        ({"commands": []}, "commands"),
        ({"commands": "echo hi"}, "commands"),
        ({"commands": ["echo", 3]}, "commands"),
        (
            {"commands": ["echo"], "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker"}},
            "taskRunner",
        ),
        ({"commands": ["echo"], "taskRunner": "PROCESS"}, "taskRunner"),
        ({"commands": ["echo"], "runner": "DOCKER"}, "runner"),
        ({"commands": ["echo"], "env": ["A=1"]}, "env"),
        ({"commands": ["echo"], "timeout": "5 minutes"}, "timeout"),
    ],
)
def test_invalid_commands_tasks_name_the_field(props, field):
    problem = validate_task(COMMANDS, props)

    assert problem is not None
    assert problem.startswith(f"{field}")


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({}, "message"),
        ({"message": []}, "message"),
        ({"message": 3}, "message"),
        ({"message": "hi", "level": "LOUD"}, "level"),
        ({"message": "hi", "timeout": "soon"}, "timeout"),
    ],
)
def test_invalid_log_tasks_name_the_field(props, field):
    problem = validate_task(LOG, props)

    assert problem is not None
    assert problem.startswith(field)


def test_valid_log_tasks():
    assert validate_task(LOG, {"message": "hi"}) is None
    assert validate_task(LOG, {"message": ["a", "b"], "level": "warn"}) is None
    assert validate_task(LOG_LEGACY, {"message": "hi", "level": "ERROR"}) is None


def test_a_script_that_redirects_its_own_output_runs_to_its_end():
    outcome, sink = run_commands("echo before", "exec > out.log 2>&1", "sleep 1", "echo done", "test -s out.log")

    assert outcome.succeeded, sink.lines
    assert sink.messages("INFO") == ["before"]


def test_a_script_that_closes_its_output_still_times_out():
    started = time.monotonic()

    outcome, sink = run_commands("exec >&- 2>&-", "sleep 30", timeout="PT1S")

    assert not outcome.succeeded
    assert time.monotonic() - started < 5
    assert any("timed out" in m for m in sink.messages("ERROR"))


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (["case x in", "x) echo matched ;;", "esac"], ["matched"]),
        (["cat <<EOF", "hello", "EOF"], ["hello"]),
        (["echo a \\", "b"], ["a b"]),
        (["if true; then", "echo yes", "fi"], ["yes"]),
    ],
)
def test_a_construct_spanning_several_commands_runs_as_kestra_joins_them(commands, expected):
    outcome, sink = run_commands(*commands)

    assert outcome.succeeded, sink.lines
    assert sink.messages("INFO") == expected


def test_a_failure_in_an_unmarked_script_names_the_script():
    outcome, sink = run_commands("if true; then", "exit 4", "fi")

    assert outcome.outputs["exitCode"] == 4
    assert sink.messages("ERROR") == ["Command failed with exit code 4: the script"]


def test_output_cost_is_counted_as_json_so_control_characters_cannot_pass_the_answer_limit(monkeypatch):
    monkeypatch.setattr(shell_commands, "MAX_LOG_BYTES", 10_000)

    outcome, sink = run_commands("head -c 6000 /dev/zero | tr '\\0' '\\001' | fold -w 1000")

    kept = sink.messages("INFO")
    assert outcome.succeeded
    assert sum(len(json.dumps(line)) for line in kept) <= 10_000
    assert sink.messages("WARN")[-1].startswith("Output cut:")


EMPTY_AS_TASK_USER = """
import os, sys
sys.path.insert(0, sys.argv[2])
from backfill_core.flows.tasks.isolation import empty_directory
folder = sys.argv[1]
os.makedirs(f"{folder}/leak"); open(f"{folder}/leak/secret", "w").write("left for the next flow")
os.chmod(f"{folder}/leak", 0o000)
os.makedirs(f"{folder}/ro"); open(f"{folder}/ro/kept", "w").write("x"); os.chmod(f"{folder}/ro", 0o555)
empty_directory(folder)
print(sorted(os.listdir(folder)))
"""


def test_emptying_tmp_removes_folders_a_task_made_unreadable_or_read_only():
    """As the task's own user (Lambda's runtime is not root; root would pass any permission)."""
    folder = tempfile.mkdtemp(prefix="empty-tmp-")
    user = isolation.command_user()
    if user:
        os.chown(folder, user.uid, user.gid)
    layer = str(Path(isolation.__file__).resolve().parents[3])
    python = "/usr/bin/python3" if user and Path("/usr/bin/python3").exists() else sys.executable
    ran = subprocess.run(
        [python, "-c", EMPTY_AS_TASK_USER, folder, layer],
        capture_output=True,
        text=True,
        **({"user": user.uid, "group": user.gid} if user else {}),
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"
