"""Kestra's restart, in the runner: the tasks of the flow's `tasks` that ended before the failed one are kept
(their task runs, a flowable's children too, and their outputs) and not run again; the failed one and what
follows run; the `errors` tasks that ran before are not kept."""

from backfill_core.flows.model import parse_flow
from backfill_core.slots.manual import kept_before_failure
from tests.unit.test_flow_runner import commands, execution, log_task, run
from tests.unit.test_flow_runner import script as script  # the fixture

SOURCE = (
    "tasks:\n"
    "  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n"
    '      - id: ret\n        type: io.kestra.plugin.core.debug.Return\n        format: "kept"\n'
    + commands("check")
    + log_task("last", "after {{ outputs.ret.value }}")
    + "errors:\n"
    + log_task("on_error", "it failed")
)


def test_a_restart_keeps_the_tasks_before_the_failed_one_and_runs_the_rest(script):
    script({"check": [False, True]})
    failed, _ = run(SOURCE)
    assert [(t.task_id, t.state.current) for t in failed.task_run_list] == [
        ("seq", "SUCCESS"),
        ("ret", "SUCCESS"),
        ("check", "FAILED"),
        ("on_error", "SUCCESS"),
    ]
    flow = parse_flow("id: f\nnamespace: tests\n" + SOURCE)
    kept = kept_before_failure(flow, failed.task_run_list)
    assert [t.task_id for t in kept] == ["seq", "ret"]

    again = execution()
    again.kept_task_runs, again.task_run_list = kept, list(kept)
    done, recorder = run(SOURCE, of=again)
    assert done.state.current == "SUCCESS"
    assert [t.task_id for t in done.task_run_list] == ["seq", "ret", "check", "last"]
    assert done.task_run_list[:2] == kept  # not run again: the same task runs
    assert recorder.messages("last") == ["after kept"]  # the kept outputs are seen
    assert recorder.messages("ret") == []


def test_nothing_is_kept_when_the_first_task_failed(script):
    script({"check": [False]})
    source = "tasks:\n" + commands("check") + log_task("last")
    failed, _ = run(source)
    assert kept_before_failure(parse_flow("id: f\nnamespace: tests\n" + source), failed.task_run_list) == []
