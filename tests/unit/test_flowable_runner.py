"""Kestra's flowable and control tasks run as Kestra's executor resolves them: Sequential, Parallel, If, Switch,
ForEach (values, taskrun.value, outputs by value, parentTaskRunId), Sleep and Fail, their errors, and the
bounds that keep an execution inside one executor and one DynamoDB item."""

import time

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from tests.unit.test_flow_runner import commands, execution, log_task, run, task_runs
from tests.unit.test_flow_runner import script as script  # the fixture

FLOW = "io.kestra.plugin.core.flow."


def indent(block: str, by: int = 4) -> str:
    return "".join(" " * by + line + "\n" for line in block.splitlines())


def flowable(task_id: str, kind: str, body: str) -> str:
    return f"  - id: {task_id}\n    type: {FLOW}{kind}\n{body}"


def ret(task_id: str, text: str) -> str:
    return f'  - id: {task_id}\n    type: io.kestra.plugin.core.debug.Return\n    format: "{text}"\n'


def states(done) -> dict:
    return {task_run.task_id: task_run.state.current for task_run in done.task_run_list}


# --- ForEach ---------------------------------------------------------------------------------------------------


def test_for_each_runs_its_tasks_per_value_with_taskrun_value_iteration_and_outputs_by_value():
    done, recorder = run(
        "tasks:\n"
        + flowable("each", "ForEach", "    values: [\"a\", \"b\", \"a\", 3]\n    tasks:\n" + indent(
            ret("part", "{{ taskrun.value }}-{{ taskrun.iteration }}")
            + log_task("say", "{{ outputs.part[taskrun.value].value }}")
        ))
        + log_task("after", "{{ outputs.part['b'].value }} {{ outputs.part['3'].value }}")
    )  # fmt: skip

    assert done.state.current == "SUCCESS"
    each = task_runs(done)["each"]
    parts = [task_run for task_run in done.task_run_list if task_run.task_id == "part"]
    assert [(p.value, p.iteration, p.parent_task_run_id) for p in parts] == [
        ("a", 0, each.id), ("b", 1, each.id), ("3", 2, each.id),
    ]  # fmt: skip
    assert [p.outputs["value"] for p in parts] == ["a-0", "b-1", "3-2"]
    assert recorder.messages("say") == ["a-0", "b-1", "3-2"]
    assert recorder.messages("after") == ["b-1 3-2"]
    assert each.attempts == [] and each.state.current == "SUCCESS"


def test_for_each_values_may_be_a_json_string_rendered_first_and_maps_become_json_values():
    done, recorder = run(
        "variables:\n  regions: '[{\"r\": \"eu\"}, {\"r\": \"us\"}]'\n"
        "tasks:\n"
        + flowable("each", "ForEach", "    values: \"{{ render(vars.regions) }}\"\n    tasks:\n" + indent(
            log_task("say", "{{ taskrun.value }}")
        ))
    )  # fmt: skip

    assert done.state.current == "SUCCESS"
    assert recorder.messages("say") == ['{"r":"eu"}', '{"r":"us"}']


def test_a_failing_value_stops_a_sequential_for_each_and_its_errors_run_and_it_fails(script):
    script({"load": [True, False, True]})
    done, recorder = run(
        "tasks:\n"
        + flowable("each", "ForEach", "    values: [\"1\", \"2\", \"3\"]\n    tasks:\n" + indent(commands("load"))
                   + "    errors:\n" + indent(log_task("cleanup", "failed at {{ parent.taskrun.value ?? 'none' }}")))
        + log_task("never")
    )  # fmt: skip

    loads = [task_run.value for task_run in done.task_run_list if task_run.task_id == "load"]
    assert loads == ["1", "2"]
    assert states(done)["each"] == "FAILED" and "never" not in states(done)
    assert recorder.messages("cleanup") == ["failed at none"]
    assert done.state.current == "FAILED"


def test_a_for_each_over_more_values_than_the_bound_fails_saying_so():
    done, recorder = run(
        "tasks:\n"
        + flowable("each", "ForEach", "    values: \"{{ range(1, 1001) | json }}\"\n    tasks:\n"
                   + indent(log_task("say")))
    )  # fmt: skip

    assert states(done) == {"each": "FAILED"}
    assert any("1,001 values, more than the 1,000 a ForEach may run" in m for m in recorder.messages("each"))


# --- Parallel, Sequential ------------------------------------------------------------------------------------


def test_parallel_runs_every_branch_even_after_one_fails_and_allow_failure_makes_it_a_warning(script):
    script({"a": [False], "b": [True], "c": [True]})
    done, _ = run(
        "tasks:\n"
        + flowable("fan", "Parallel", "    allowFailure: true\n    tasks:\n" + indent(
            commands("a") + commands("b") + commands("c")
        ))
        + log_task("after")
    )  # fmt: skip

    assert states(done) == {"fan": "WARNING", "a": "FAILED", "b": "SUCCESS", "c": "SUCCESS", "after": "SUCCESS"}
    assert done.state.current == "WARNING"


def test_parallel_with_concurrent_1_starts_no_branch_after_a_failure(script):
    script({"a": [False], "b": [True]})
    done, _ = run("tasks:\n" + flowable("fan", "Parallel", "    concurrent: 1\n    tasks:\n" + indent(
        commands("a") + commands("b")
    )))  # fmt: skip

    assert states(done) == {"fan": "FAILED", "a": "FAILED"}


def test_sequential_nests_and_a_disabled_child_is_left_out():
    done, _ = run("tasks:\n" + flowable("seq", "Sequential", "    tasks:\n" + indent(
        log_task("one") + log_task("skipped", "{{ nope }}", "    disabled: true\n") + log_task("two")
    )))  # fmt: skip

    assert list(states(done)) == ["seq", "one", "two"]
    assert {task_runs(done)[t].parent_task_run_id for t in ("one", "two")} == {task_runs(done)["seq"].id}


# --- If, Switch ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "branch"),
    [("{{ 1 == 1 }}", "when_true"), ("false", "when_false"), ("0", "when_false"), ("x", "when_true")],
)
def test_if_takes_then_or_else_by_kestras_truth_and_outputs_its_evaluation(condition, branch):
    done, _ = run("tasks:\n" + flowable("check", "If", f"    condition: \"{condition}\"\n    then:\n" + indent(
        log_task("when_true")) + "    else:\n" + indent(log_task("when_false"))))  # fmt: skip

    assert list(states(done)) == ["check", branch]
    assert task_runs(done)["check"].outputs == {"evaluationResult": branch == "when_true"}


def test_switch_runs_the_matching_case_or_the_defaults_and_fails_with_neither():
    body = "    value: \"{{ vars.mode }}\"\n    cases:\n      FULL:\n" + indent(log_task("full"), 4) + (
        "    defaults:\n" + indent(log_task("other"))
    )  # fmt: skip
    source = "variables:\n  mode: FULL\ntasks:\n" + flowable("pick", "Switch", body)
    done, _ = run(source)
    assert list(states(done)) == ["pick", "full"]
    assert task_runs(done)["pick"].outputs == {"value": "FULL", "defaults": False}

    done, _ = run(source.replace("mode: FULL", "mode: LITE"))
    assert list(states(done)) == ["pick", "other"]

    done, recorder = run(source.replace("mode: FULL", "mode: LITE").split("    defaults:\n")[0])
    assert states(done) == {"pick": "FAILED"}
    assert any("No task found for the value 'LITE'" in m for m in recorder.messages("pick"))


# --- Sleep, Fail -----------------------------------------------------------------------------------------------


def test_fail_fails_with_its_message_or_only_on_its_condition():
    done, recorder = run("tasks:\n  - id: stop\n    type: io.kestra.plugin.core.execution.Fail\n"
                         "    errorMessage: \"no data for {{ flow.id }}\"\n")  # fmt: skip
    assert done.state.current == "FAILED" and recorder.messages("stop") == ["no data for f"]

    done, _ = run(
        'tasks:\n  - id: stop\n    type: io.kestra.plugin.core.execution.Fail\n    condition: "{{ 1 > 2 }}"\n'
    )
    assert done.state.current == "SUCCESS"


def test_sleep_waits_inside_the_budget_and_fails_saying_so_past_it():
    done, _ = run(f"tasks:\n  - id: nap\n    type: {FLOW}Sleep\n    duration: PT0.05S\n")
    assert done.state.current == "SUCCESS"

    done, recorder = run(f"tasks:\n  - id: nap\n    type: {FLOW}Sleep\n    duration: PT10S\n", budget=2)
    assert done.state.current == "FAILED"
    assert any("Sleep of PT10S not done: the executor has 2 s left" in m for m in recorder.messages("nap"))


# --- registration -----------------------------------------------------------------------------------------------


def refusal(source: str) -> str:
    with pytest.raises(Invalid) as refused:
        parse_flow("id: f\nnamespace: tests\n" + source)
    return refused.value.message


def test_nested_task_ids_are_unique_across_the_flow_and_nested_tasks_are_checked():
    twice = "tasks:\n" + log_task("say") + flowable("seq", "Sequential", "    tasks:\n" + indent(log_task("say")))
    assert refusal(twice) == "tasks[seq].tasks[say].id: task id 'say' is used twice"
    bad = "tasks:\n" + flowable("seq", "Sequential", "    tasks:\n" + indent(log_task("a", extra="    colour: red\n")))
    assert refusal(bad) == "tasks[0].tasks[0].colour: not a property of a task of type io.kestra.plugin.core.log.Log"
    missing = "tasks:\n" + flowable(
        "seq", "Sequential", "    tasks:\n" + indent("  - id: a\n    type: io.kestra.plugin.core.log.Log\n")
    )
    assert refusal(missing).startswith("tasks[seq].tasks[a].message:")
    assert refusal("tasks:\n" + flowable("x", "Sleep", "    duration: PT16M\n")).startswith("tasks[x].duration:")


def test_nesting_past_the_depth_bound_and_a_parallel_of_10000_branches_are_refused():
    block = log_task("leaf")
    for depth in range(11):
        block = flowable(f"s{depth}", "Sequential", "    tasks:\n" + indent(block))
    assert "flowable tasks are nested more than 10 deep" in refusal("tasks:\n" + block)

    branches = "".join(log_task(f"b{n}") for n in range(10_000))
    assert "at most 100 tasks" in refusal("tasks:\n" + flowable("fan", "Parallel", "    tasks:\n" + indent(branches)))


def test_a_flowable_may_be_an_errors_or_finally_task_and_its_retry_is_refused():
    done, _ = run(
        "tasks:\n"
        + log_task("a")
        + "finally:\n"
        + flowable("end", "Sequential", "    tasks:\n" + indent(log_task("b")))
    )
    assert list(states(done)) == ["a", "end", "b"]
    retry = "    retry: {type: constant, interval: PT1S, maxAttempts: 2}\n    tasks:\n" + indent(log_task("b"))
    assert refusal("tasks:\n" + flowable("seq", "Sequential", retry)).startswith("tasks[seq].retry: not supported yet")


def test_a_backfill_input_reaching_commands_through_for_each_values_is_refused_as_shell_syntax(script):
    seen = script({"say": [True]})
    of = execution(kind="backfill")
    of.inputs = {"day": "x; touch pwned"}
    source = "inputs:\n  - id: day\n    type: STRING\n    required: false\ntasks:\n" + flowable(
        "each", "ForEach", "    values: '[\"{{ inputs.day }}\"]'\n    tasks:\n" + indent(
            commands("say").replace("attempt {{ taskrun.attemptsCount }}", "echo {{ taskrun.value }}")
        )
    )  # fmt: skip

    done, recorder = run(source, of=of)

    assert done.state.current == "FAILED" and seen == []
    assert any(m.startswith("backfill.inputs.day: the value holds shell syntax") for m in recorder.messages("say"))


# --- runIf and logLevel -----------------------------------------------------------------------------------------


def test_run_if_false_skips_a_flowable_and_its_children_and_the_execution_still_succeeds():
    done, recorder = run(
        "tasks:\n"
        + flowable("each", "ForEach", "    values: [\"a\", \"b\"]\n    tasks:\n" + indent(
            log_task("only_b", "ran {{ taskrun.value }}") + "    runIf: \"{{ taskrun.value == 'b' }}\"\n"
        ))
        + flowable("never", "Sequential", "    runIf: \"{{ 1 > 2 }}\"\n    tasks:\n" + indent(log_task("inner", "x")))
    )  # fmt: skip

    assert done.state.current == "SUCCESS"
    only_b = [(t.value, t.state.current) for t in done.task_run_list if t.task_id == "only_b"]
    assert only_b == [("a", "SKIPPED"), ("b", "SUCCESS")]
    assert recorder.messages("only_b") == ["ran b"]
    assert states(done)["never"] == "SKIPPED" and "inner" not in states(done)
    assert task_runs(done)["never"].state.end_date is not None


def test_a_run_if_that_cannot_render_fails_its_task_naming_it():
    done, recorder = run("tasks:\n" + log_task("t", "x") + '    runIf: "{{ outputs.nothing.value }}"\n')

    assert done.state.current == "FAILED"
    assert states(done)["t"] == "FAILED"
    assert any("Unable to evaluate the runIf condition for task t" in m for m in recorder.messages("t"))


def test_log_level_drops_only_its_own_tasks_lines_below_it():
    done, recorder = run(
        "tasks:\n"
        + log_task("quiet", "dropped") + "    level: INFO\n    logLevel: WARN\n"
        + log_task("loud", "kept") + "    level: ERROR\n    logLevel: WARN\n"
        + log_task("other", "also kept") + "    level: DEBUG\n"
    )  # fmt: skip

    assert done.state.current == "SUCCESS"
    assert recorder.messages("quiet") == [] and recorder.messages("loud") == ["kept"]
    assert recorder.messages("other") == ["also kept"]


def test_an_unknown_log_level_is_refused_at_registration():
    with pytest.raises(Invalid, match="logLevel"):
        parse_flow("id: f\nnamespace: n\ntasks:\n" + log_task("t", "x") + "    logLevel: LOUD\n")


# --- Parallel branches at once ------------------------------------------------------------------------------------


def sleep_task(task_id: str, duration: str = "PT0.4S") -> str:
    return f"  - id: {task_id}\n    type: {FLOW}Sleep\n    duration: {duration}\n"


def test_parallel_branches_run_at_the_same_time_up_to_concurrent():
    done, _ = run(
        "tasks:\n"
        + flowable("fan", "Parallel", "    concurrent: 2\n    tasks:\n" + indent(
            sleep_task("a") + sleep_task("b") + sleep_task("c")
        ))
    )  # fmt: skip

    assert done.state.current == "SUCCESS"
    runs = task_runs(done)
    a, b, c = (runs[name].state for name in "abc")
    assert b.start_date < a.end_date and a.start_date < b.end_date  # a and b overlap
    assert c.start_date >= min(a.end_date, b.end_date)  # c waits for one of them: at most 2 at once


def test_a_for_each_group_that_fails_stops_new_groups_and_the_started_ones_end():
    done, recorder = run(
        "tasks:\n"
        + flowable("each", "ForEach", "    values: [1, 2, 3, 4, 5]\n    concurrencyLimit: 3\n    tasks:\n"
            + indent(
                "  - id: check\n    type: io.kestra.plugin.core.execution.Fail\n"
                "    condition: \"{{ taskrun.value == '1' }}\"\n"
                + sleep_task("nap", "PT0.3S")
                + log_task("after", "done {{ taskrun.value }}")
            ))
    )  # fmt: skip

    assert done.state.current == "FAILED"
    assert sorted(recorder.messages("after")) == ["done 2", "done 3"]  # started with 1, they end; 4 and 5 never start
    assert sorted(t.value for t in done.task_run_list if t.task_id == "nap") == ["2", "3"]


def test_log_lines_of_branches_in_threads_are_all_kept():
    branches = "".join(log_task(f"b{i}", f"line {i}") for i in range(8))
    done, recorder = run("tasks:\n" + flowable("fan", "Parallel", "    tasks:\n" + indent(branches)))

    assert done.state.current == "SUCCESS"
    assert sorted(recorder.messages()) == sorted(f"line {i}" for i in range(8))


def test_branches_join_the_task_run_list_in_the_order_declared_however_their_threads_run():
    """Kestra creates a Parallel's branches (a ForEach's groups) in order: a branch whose thread is slow to start
    still comes before the next one in taskRunList."""
    from backfill_core.flows.branches import task_run_added, windowed

    joined: list[str] = []

    def branch(name: str, late: float):
        def run_branch() -> str:
            time.sleep(late)
            joined.append(name)
            task_run_added()
            return "SUCCESS"

        return run_branch

    assert (
        windowed([branch("first", 0.1), branch("second", 0), branch("third", 0)], 0, lambda: False, False) == "SUCCESS"
    )
    assert joined == ["first", "second", "third"]

    many = "".join(log_task(f"b{i}", f"line {i}") for i in range(8))
    done, _ = run("tasks:\n" + flowable("fan", "Parallel", "    tasks:\n" + indent(many)))
    assert [t.task_id for t in done.task_run_list] == ["fan", *(f"b{i}" for i in range(8))]
