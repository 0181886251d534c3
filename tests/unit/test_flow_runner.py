"""A flow run as Kestra's executor runs it, without AWS: outputs between tasks and onto the execution, retries
and their attempts, allowFailure/allowWarning/warningOnRetry, disabled tasks, errors and finally, variables.
Core tasks (Log, Return, OutputValues) run for real; a Commands task, which needs the task runner, is played
by a script of outcomes where a test needs a task that fails."""

from datetime import UTC, datetime

import pytest

from backfill_core.flows import task_run as task_run_module
from backfill_core.flows.execution import Execution, ExecutionTrigger, State, StateHistory
from backfill_core.flows.model import parse_flow
from backfill_core.flows.outputs import MAX_TASK_OUTPUTS_BYTES
from backfill_core.flows.runner import run_flow
from backfill_core.flows.tasks.task_types import TaskOutcome

AT = datetime(2024, 3, 28, 6, 30, tzinfo=UTC)
COMMANDS = "io.kestra.plugin.scripts.shell.Commands"


class Recorder:
    def __init__(self):
        self.lines: list[tuple[str | None, str, str]] = []
        self.saves = 0

    def log(self, task_run, level, message, at=None):
        self.lines.append((task_run.task_id if task_run else None, level, message))

    def save(self, execution):
        self.saves += 1

    def messages(self, task_id=None):
        return [m for t, _, m in self.lines if task_id is None or t == task_id]


def execution(labels=(), kind="schedule") -> Execution:
    return Execution(
        id="exec1",
        tenant_id="main",
        namespace="tests",
        flow_id="f",
        flow_revision=1,
        labels=[{"key": k, "value": v} for k, v in labels],
        trigger=ExecutionTrigger(id="every_hour", type="Schedule", variables={"date": "2024-03-28T06:30:00Z"}),
        state=State(current="RUNNING", histories=[StateHistory(state="RUNNING", date=AT)], start_date=AT),
        kind=kind,
        scheduled_date=AT,
    )


def run(source: str, budget: float = 30.0, killed=lambda: False, of=None):
    flow = parse_flow("id: f\nnamespace: tests\n" + source)
    recorder = Recorder()
    done = run_flow(flow, 1, of or execution(), recorder.log, recorder.save, lambda: budget, killed)
    return done, recorder


def task_runs(done: Execution) -> dict:
    return {task_run.task_id: task_run for task_run in done.task_run_list}


@pytest.fixture
def script(monkeypatch):
    """Commands tasks play outcomes instead of running: `script({"id": [True, False]})` makes the task `id`
    fail on its first attempt and succeed on its second (the last outcome repeats). Records each attempt's
    rendered properties."""
    seen: list[dict] = []
    real = task_run_module.run_task

    def install(outcomes: dict[str, list[bool]]):
        calls: dict[str, int] = {}

        def fake_run_task(task_type, props, log, budget, killed=lambda: False, *, task_id="", **ids):
            if task_type != COMMANDS:
                return real(task_type, props, log, budget, killed, task_id=task_id, **ids)
            seen.append(props)
            n = calls[task_id] = calls.get(task_id, 0) + 1
            plan = outcomes[task_id]
            succeeded = plan[min(n, len(plan)) - 1]
            return TaskOutcome(succeeded=succeeded, outputs={"vars": {}, "exitCode": 0 if succeeded else 1})

        monkeypatch.setattr(task_run_module, "run_task", fake_run_task)
        return seen

    return install


def commands(task_id: str, extra: str = "") -> str:
    return (
        f"  - id: {task_id}\n    type: {COMMANDS}\n    commands: ['attempt {{{{ taskrun.attemptsCount }}}}']\n{extra}"
    )


def log_task(task_id: str, message: str = "hi", extra: str = "") -> str:
    return f'  - id: {task_id}\n    type: io.kestra.plugin.core.log.Log\n    message: "{message}"\n{extra}'


# --- Outputs -------------------------------------------------------------------------------------------------


def test_return_and_output_values_are_outputs_later_tasks_read_and_the_task_runs_keep():
    done, recorder = run(
        "tasks:\n"
        "  - id: partition\n    type: io.kestra.plugin.core.debug.Return\n"
        '    format: "{{ trigger.date }}/part"\n'
        "  - id: meta\n    type: io.kestra.plugin.core.output.OutputValues\n"
        '    values: {rows: 42, table: "t_{{ flow.id }}"}\n'
        # `outputs.meta.values.table` in Pebble; Jinja's attribute lookup finds dict.values first (Pebble's work).
        + log_task("say", "{{ outputs.partition.value }} {{ outputs.meta['values'].table }}")
    )

    assert done.state.current == "SUCCESS"
    runs = task_runs(done)
    assert runs["partition"].outputs == {"value": "2024-03-28T06:30:00Z/part"}
    assert runs["meta"].outputs == {"values": {"rows": 42, "table": "t_f"}}
    assert recorder.messages("say") == ["2024-03-28T06:30:00Z/part t_f"]


def test_flow_outputs_are_evaluated_onto_the_execution_with_their_type():
    done, _ = run(
        "tasks:\n  - id: count\n    type: io.kestra.plugin.core.debug.Return\n    format: '7'\n"
        "outputs:\n  - id: rows\n    type: INT\n    value: '{{ outputs.count.value }}'\n"
        "  - id: where\n    type: STRING\n    value: '{{ flow.namespace }}'\n"
    )

    assert done.state.current == "SUCCESS"
    assert done.outputs == {"rows": 7, "where": "tests"}


def test_a_flow_output_that_cannot_be_rendered_fails_the_execution_naming_it():
    done, recorder = run(
        "tasks:\n"
        + log_task("a")
        + "outputs:\n  - id: missing\n    type: STRING\n    value: '{{ outputs.nope.value }}'\n"
    )

    assert done.state.current == "FAILED"
    assert done.outputs is None
    assert any("Failed to render output values: outputs[missing]" in m for m in recorder.messages(None))


def test_outputs_past_the_bound_fail_the_task_and_are_not_kept():
    big = "x" * (MAX_TASK_OUTPUTS_BYTES + 10)
    done, recorder = run(
        f"tasks:\n  - id: big\n    type: io.kestra.plugin.core.debug.Return\n    format: '{big}'\n" + log_task("after")
    )

    assert done.state.current == "FAILED"
    assert task_runs(done)["big"].outputs == {}
    assert "after" not in task_runs(done)
    assert any("more than the 65,536 a task run may keep" in m for m in recorder.messages("big"))


# --- Retries -------------------------------------------------------------------------------------------------


def test_a_retried_task_records_each_attempt_and_succeeds_on_a_later_one(script):
    seen = script({"flaky": [False, False, True]})
    done, recorder = run(
        "tasks:\n" + commands("flaky", "    retry: {type: constant, interval: PT0.01S, maxAttempts: 5}\n")
    )

    flaky = task_runs(done)["flaky"]
    assert [attempt.state.current for attempt in flaky.attempts] == ["FAILED", "FAILED", "SUCCESS"]
    assert flaky.state.current == "SUCCESS"
    assert [h.state for h in flaky.state.histories] == [
        "CREATED", "RUNNING", "FAILED", "RETRYING", "RUNNING", "FAILED", "RETRYING", "RUNNING", "SUCCESS",
    ]  # fmt: skip
    assert [props["commands"] for props in seen] == [["attempt 0"], ["attempt 1"], ["attempt 2"]]
    assert done.state.current == "SUCCESS"
    assert sum("attempt 2 in 0.01 s" in m for m in recorder.messages("flaky")) == 1


def test_max_attempts_counts_the_first_attempt_and_the_task_then_fails(script):
    script({"bad": [False], "next": [True]})
    done, _ = run(
        "tasks:\n"
        + commands("bad", "    retry: {type: constant, interval: PT0.01S, maxAttempt: 3}\n")
        + commands("next")
    )

    assert len(task_runs(done)["bad"].attempts) == 3
    assert task_runs(done)["bad"].state.current == "FAILED"
    assert "next" not in task_runs(done)
    assert done.state.current == "FAILED"


def test_warning_on_retry_ends_a_task_that_needed_a_retry_in_warning(script):
    script({"flaky": [False, True]})
    done, _ = run(
        "tasks:\n"
        + commands("flaky", "    retry: {type: constant, interval: PT0.01S, maxAttempts: 2, warningOnRetry: true}\n")
    )

    assert task_runs(done)["flaky"].state.current == "WARNING"
    assert done.state.current == "WARNING"


def test_a_retry_that_cannot_fit_the_executors_budget_fails_the_task_saying_so(script):
    script({"flaky": [False, True]})
    done, recorder = run(
        "tasks:\n" + commands("flaky", "    retry: {type: constant, interval: PT10S, maxAttempts: 3}\n"), budget=5
    )

    assert len(task_runs(done)["flaky"].attempts) == 1
    assert done.state.current == "FAILED"
    assert any("Attempt 2 not run: it is due in 10 s" in m for m in recorder.messages("flaky"))


def test_a_kill_while_a_task_waits_for_its_next_attempt_ends_it_killed(script):
    script({"flaky": [False, True]})
    checks = iter([False, False, True, True, True])
    done, _ = run(
        "tasks:\n" + commands("flaky", "    retry: {type: constant, interval: PT2S, maxAttempts: 3}\n") + log_task("b"),
        killed=lambda: next(checks),
    )

    assert task_runs(done)["flaky"].state.current == "KILLED"
    assert len(task_runs(done)["flaky"].attempts) == 1
    assert "b" not in task_runs(done)
    assert done.state.current == "KILLED"


# --- allowFailure, allowWarning, disabled ------------------------------------------------------------------


def test_allow_failure_lets_the_flow_carry_on_and_end_in_warning(script):
    script({"optional": [False]})
    done, recorder = run("tasks:\n" + commands("optional", "    allowFailure: true\n") + log_task("after"))

    assert task_runs(done)["optional"].attempts[0].state.current == "FAILED"
    assert task_runs(done)["optional"].state.current == "WARNING"
    assert recorder.messages("after") == ["hi"]
    assert done.state.current == "WARNING"


def test_allow_warning_with_allow_failure_ends_in_success(script):
    script({"optional": [False]})
    done, _ = run("tasks:\n" + commands("optional", "    allowFailure: true\n    allowWarning: true\n"))

    assert task_runs(done)["optional"].state.current == "SUCCESS"
    assert done.state.current == "SUCCESS"


def test_a_disabled_task_is_not_run_and_has_no_task_run():
    done, recorder = run(
        "tasks:\n" + log_task("skipped", "{{ not.rendered }}", "    disabled: true\n") + log_task("enabled")
    )

    assert list(task_runs(done)) == ["enabled"]
    assert recorder.messages("enabled") == ["hi"]
    assert done.state.current == "SUCCESS"


# --- errors and finally ---------------------------------------------------------------------------------------


def test_errors_run_after_a_failure_and_finally_after_them_the_execution_still_fails(script):
    script({"load": [False]})
    done, recorder = run(
        "tasks:\n"
        + commands("load")
        + log_task("skipped")
        + "errors:\n"
        + log_task("alert", "failed in {{ execution.id }}")
        + "finally:\n"
        + log_task("cleanup")
    )

    assert [task_run.task_id for task_run in done.task_run_list] == ["load", "alert", "cleanup"]
    assert recorder.messages("alert") == ["failed in exec1"]
    assert done.state.current == "FAILED"


def test_errors_do_not_run_on_success_and_finally_always_does():
    done, _ = run("tasks:\n" + log_task("a") + "errors:\n" + log_task("alert") + "finally:\n" + log_task("cleanup"))

    assert [task_run.task_id for task_run in done.task_run_list] == ["a", "cleanup"]
    assert done.state.current == "SUCCESS"


def test_a_failing_finally_task_fails_the_execution():
    done, _ = run("tasks:\n" + log_task("a") + "finally:\n" + log_task("cleanup", "{{ nope }}"))

    assert task_runs(done)["cleanup"].state.current == "FAILED"
    assert done.state.current == "FAILED"


# --- variables -------------------------------------------------------------------------------------------------


def test_flow_variables_are_vars_and_an_expression_inside_one_stays_as_written():
    done, recorder = run(
        "variables:\n  table: events\n  day: '{{ trigger.date }}'\n  n: 3\n"
        "tasks:\n" + log_task("say", "{{ vars.table }} {{ vars.n }} {{ vars.day }}")
    )

    assert done.state.current == "SUCCESS"
    assert recorder.messages("say") == ["events 3 {{ trigger.date }}"]


def test_a_timeout_that_renders_to_no_duration_fails_the_task():
    done, recorder = run("tasks:\n" + log_task("a", extra='    timeout: "{{ flow.id }}"\n'))

    assert done.state.current == "FAILED"
    assert any(m.startswith("timeout: 'f' is not an ISO-8601 duration") for m in recorder.messages("a"))


# --- caller data --------------------------------------------------------------------------------------------


def test_the_flows_own_labels_are_not_caller_data_but_a_backfills_label_over_one_is(script):
    seen = script({"say": [True]})
    source = "labels:\n  reason: planned outage\ntasks:\n" + commands("say").replace(
        "attempt {{ taskrun.attemptsCount }}", "echo {{ labels.reason }}"
    )

    authored, _ = run(source, of=execution(labels=[("reason", "planned outage")], kind="backfill"))
    assert authored.state.current == "SUCCESS" and seen == [{"commands": ["echo planned outage"]}]

    given, recorder = run(source, of=execution(labels=[("reason", "x; id")], kind="backfill"))
    assert given.state.current == "FAILED" and len(seen) == 1
    assert any(m.startswith("backfill.labels.reason: the value holds shell syntax") for m in recorder.messages("say"))


def test_after_execution_runs_once_the_execution_ended_and_never_changes_its_state():
    done, recorder = run(
        "tasks:\n"
        + log_task("load", "loaded")
        + "afterExecution:\n"
        + log_task("report", "ended {{ execution.state }}")
        + "  - id: broken\n    type: io.kestra.plugin.core.execution.Fail\n"
    )

    assert done.state.current == "SUCCESS"
    assert recorder.messages("report") == ["ended SUCCESS"]
    report = task_runs(done)["report"]
    assert report.state.start_date >= done.state.end_date  # after the end, not before it
    assert task_runs(done)["broken"].state.current == "FAILED"


def test_after_execution_does_not_run_after_a_kill():
    done, recorder = run(
        "tasks:\n" + log_task("load") + "afterExecution:\n" + log_task("report", "ran"), killed=lambda: True
    )

    assert done.state.current == "KILLED"
    assert [history.state for history in done.state.histories][-2:] == ["KILLING", "KILLED"]  # as Kestra records it
    assert recorder.messages("report") == []
