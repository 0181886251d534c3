"""Kestra's Subflow task in the runner, with the child played by a fake starter: the call its rendered properties
make, one child per attempt and ForEach value, the task's state from the child's end (Kestra's guessState, with
allowFailure/allowWarning), and the registration checks (properties, recursion)."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from backfill_core.flows.runner import run_flow
from backfill_core.flows.tasks.subflow import SubflowCall, recursive_call, result_of
from backfill_core.flows.tasks.task_types import TaskOutcome
from backfill_core.ids import subflow_execution_id
from backfill_core.slots.message import ExecutionMessage, SlotMessage, parse_work_message
from tests.unit.test_flow_runner import Recorder, execution, task_runs

SUBFLOW = "io.kestra.plugin.core.flow.Subflow"


def subflow(task_id: str = "call", extra: str = "") -> str:
    return f"  - id: {task_id}\n    type: {SUBFLOW}\n    namespace: tests\n    flowId: child\n{extra}"


class Children:
    """Plays each child: its end state (the last repeats) and outputs; records every call."""

    def __init__(self, *ends: str, outputs: dict | None = None):
        self.ends, self.outputs, self.calls = list(ends), outputs, []

    def __call__(self, call: SubflowCall, log, killed) -> TaskOutcome:
        self.calls.append(call)
        end = self.ends[min(len(self.calls), len(self.ends)) - 1]
        return result_of(f"child{len(self.calls)}", end, self.outputs, call)


def run(source: str, children: Children):
    flow = parse_flow("id: f\nnamespace: tests\ntasks:\n" + source)
    recorder = Recorder()
    done = run_flow(flow, 1, execution(), recorder.log, recorder.save, lambda: 30.0, subflows=children)
    return done, recorder


def test_the_call_is_the_tasks_rendered_properties_and_the_childs_outputs_reach_later_tasks():
    children = Children("SUCCESS", outputs={"rows": 7})
    extra = (
        "    inputs:\n      day: \"{{ trigger.date | date('yyyy-MM-dd') }}\"\n"
        '    labels:\n      from: "{{ flow.id }}"\n    revision: "{{ 1 + 1 }}"\n    inheritLabels: true\n'
    )
    done, _ = run(
        subflow(extra=extra) + "  - id: after\n    type: io.kestra.plugin.core.debug.Return\n"
        '    format: "{{ outputs.call.outputs.rows }} {{ outputs.call.state }} {{ outputs.call.executionId }}"\n',
        children,
    )

    (call,) = children.calls
    assert (call.namespace, call.flow_id, call.revision, call.inputs) == ("tests", "child", 2, {"day": "2024-03-28"})
    assert [(label.key, label.value) for label in call.labels] == [("from", "f")]
    assert (call.wait, call.transmit_failed, call.inherit_labels) == (True, True, True)
    assert call.key == ("call", "attempt1")
    assert task_runs(done)["call"].outputs == {"executionId": "child1", "state": "SUCCESS", "outputs": {"rows": 7}}
    assert task_runs(done)["after"].outputs == {"value": "7 SUCCESS child1"}
    assert done.state.current == "SUCCESS"


@pytest.mark.parametrize(
    ("child", "extra", "task", "flow"),
    [
        ("FAILED", "", "FAILED", "FAILED"),
        ("KILLED", "", "KILLED", "KILLED"),
        ("WARNING", "", "WARNING", "WARNING"),
        ("FAILED", "    transmitFailed: false\n", "SUCCESS", "SUCCESS"),
        ("KILLED", "    transmitFailed: false\n", "SUCCESS", "SUCCESS"),
        ("FAILED", "    allowFailure: true\n", "WARNING", "WARNING"),
        ("FAILED", "    allowFailure: true\n    allowWarning: true\n", "SUCCESS", "SUCCESS"),
        ("WARNING", "    allowWarning: true\n", "SUCCESS", "SUCCESS"),
    ],
)
def test_the_childs_end_is_passed_on_as_kestra_guesses_the_tasks_state(child, extra, task, flow):
    done, _ = run(subflow(extra=extra), Children(child))

    assert task_runs(done)["call"].state.current == task
    assert task_runs(done)["call"].outputs["state"] == child
    assert done.state.current == flow


def test_a_retried_subflow_starts_a_new_child_per_attempt_and_a_for_each_one_per_value():
    retry = "    retry:\n      type: constant\n      maxAttempts: 2\n      interval: PT0.01S\n"
    children = Children("FAILED", "SUCCESS")
    done, _ = run(subflow(extra=retry), children)

    assert [call.key for call in children.calls] == [("call", "attempt1"), ("call", "attempt2")]
    assert [a.state.current for a in task_runs(done)["call"].attempts] == ["FAILED", "SUCCESS"]
    assert task_runs(done)["call"].outputs["executionId"] == "child2"

    children = Children("SUCCESS")
    each = "  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [eu, us]\n    tasks:\n"
    run(each + "".join("  " + line + "\n" for line in subflow().splitlines()), children)
    assert [call.key for call in children.calls] == [("call", "eu", "attempt1"), ("call", "us", "attempt1")]
    assert subflow_execution_id("p", children.calls[0].key) != subflow_execution_id("p", children.calls[1].key)
    assert subflow_execution_id("p", ("call", "attempt1")) == subflow_execution_id("p", ("call", "attempt1"))


def test_a_flow_id_rendering_to_nothing_fails_the_task_naming_it_and_starts_no_child():
    children = Children("SUCCESS")
    done, recorder = run(subflow().replace("flowId: child", "flowId: \"{{ inputs.missing ?? '' }}\""), children)

    assert children.calls == []
    assert done.state.current == "FAILED"
    assert any("flowId must render" in message for _, _, message in recorder.lines)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("    wait: yes please\n", "tasks[call].wait: true or false is required"),
        ("    revision: 0\n", "tasks[call].revision: a revision number, 1 or more, is required"),
        ("    inputs: [a, b]\n", "tasks[call].inputs: a map of input ids to values is required"),
        ("    labels: oops\n", "tasks[call].labels: labels must be a list"),
        ("    scheduleDate: '2024-01-01T00:00:00Z'\n", "tasks[0].scheduleDate: not supported"),
    ],
)
def test_a_subflow_badly_written_is_refused_at_registration_naming_its_path(extra, problem):
    with pytest.raises(Invalid) as refused:
        parse_flow("id: f\nnamespace: tests\ntasks:\n" + subflow(extra=extra))
    assert problem in refused.value.message


def test_a_flow_calling_itself_is_refused_wherever_the_call_sits_but_not_when_an_expression_names_the_flow():
    nested = (
        "id: f\nnamespace: tests\ntasks:\n  - id: maybe\n    type: io.kestra.plugin.core.flow.If\n"
        "    condition: '{{ true }}'\n    then:\n" + "".join("  " + line + "\n" for line in subflow().splitlines())
    )
    with pytest.raises(Invalid) as refused:
        parse_flow(nested.replace("flowId: child", "flowId: f"))
    assert "tasks[maybe].then[call].flowId: Recursive call to flow [tests.f]" in refused.value.message

    flow = parse_flow(nested.replace("flowId: child", "flowId: '{{ flow.id }}'"))
    assert recursive_call("tests", "f", flow.task_lists()) is None
    elsewhere = nested.replace("flowId: child", "flowId: f").replace("      namespace: tests", "      namespace: other")
    assert parse_flow(elsewhere).id == "f"  # the same id in another namespace is another flow


def test_the_work_queue_tells_an_execution_message_from_a_slot_message():
    by_id = ExecutionMessage(tenant="main", execution_id="abc")
    slot = SlotMessage(tenant="main", namespace="n", flow_id="f", trigger_id="t", date="2024-01-01T00:00:00Z")

    assert parse_work_message(by_id.model_dump_json(by_alias=True)) == by_id
    assert parse_work_message(slot.model_dump_json(by_alias=True)) == slot
