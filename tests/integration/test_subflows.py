"""Kestra's Subflow task through the executor: the child is an execution of its own (searchable, fetched by id)
linked to its parent as Kestra links it; wait and transmitFailed decide the parent's task run; wait: false
queues the child, run by id; a crash inside the child never makes a second one; recursion is refused or
bounded; a backfill's caller values handed down stay data."""

import time

import pytest

from backfill_core.flows import task_run as task_run_module
from backfill_core.flows.tasks.subflow import MAX_SUBFLOW_DEPTH
from backfill_core.slots.message import ExecutionMessage
from backfill_core.storage import work_queue
from tests.flows import backfill_body
from tests.harness import ExecutorDied, run_kind
from tests.integration.test_flow_semantics import ONE_SLOT

CHILD = """
id: child
namespace: tests
labels:
  owner: child-team
inputs:
  - id: day
    type: STRING
  - id: fail
    type: BOOLEAN
    defaults: false
tasks:
  - id: work
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.day }} for {{ trigger.namespace }}.{{ trigger.flowId }}"
  - id: maybe_fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
outputs:
  - id: said
    type: STRING
    value: "{{ outputs.work.value }}"
"""

TRIGGER = """triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def parent(call: str = "", flow_id: str = "parent", fail: str = "false") -> str:
    return (
        f"""
id: {flow_id}
namespace: tests
labels:
  tier: gold
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: tests
    flowId: child
    inputs:
      day: "{{{{ trigger.date | date('yyyy-MM-dd') }}}}"
      fail: {fail}
    labels:
      source: "{{{{ flow.id }}}}"
{call}  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.call.state }}}}"
"""
        + TRIGGER
    )


def register(stack, *sources: str) -> None:
    for source in sources:
        answer = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
        assert answer.status == 200, answer.raw


def backfill(stack, flow_id: str = "parent", **extra) -> None:
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, *ONE_SLOT, **extra))
    assert answer.status == 200, answer.raw


def fetched(stack, flow_id: str) -> dict:
    (found,) = stack.executions(namespace="tests", flowId=flow_id)
    answer = stack.call("GET", f"/api/v1/executions/{found['id']}")
    assert answer.status == 200, answer.raw
    return answer.body


def runs_of(execution: dict) -> dict:
    return {task_run["taskId"]: task_run for task_run in execution["taskRunList"]}


def messages(stack, execution: dict) -> list[str]:
    return [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]


def test_a_waited_for_child_is_an_execution_of_its_own_linked_to_its_parent_and_its_outputs_reach_it(stack):
    register(stack, CHILD, parent())
    backfill(stack)
    stack.drain()

    parent_run, child = fetched(stack, "parent"), fetched(stack, "child")
    assert (parent_run["state"]["current"], child["state"]["current"]) == ("SUCCESS", "SUCCESS")
    call = runs_of(parent_run)["call"]
    assert call["state"]["current"] == "SUCCESS"
    assert call["outputs"] == {
        "executionId": child["id"],
        "state": "SUCCESS",
        "outputs": {"said": "2024-01-01 for tests.parent"},
    }
    assert runs_of(parent_run)["after"]["outputs"] == {"value": "SUCCESS"}
    assert child["trigger"] == {
        "id": "call",
        "type": "io.kestra.plugin.core.flow.Subflow",
        "variables": {"executionId": parent_run["id"], "namespace": "tests", "flowId": "parent", "flowRevision": 1},
    }
    assert run_kind(child) == "subflow"
    assert child["inputs"] == {"day": "2024-01-01", "fail": False}
    # The child flow's labels and the task's, not the parent's (inheritLabels is false by default), but for the
    # parent's system labels: its backfill's, and its correlation id, which ties the child to it.
    assert {(label["key"], label["value"]) for label in child["labels"]} == {
        ("owner", "child-team"),
        ("source", "parent"),
        ("system.backfill", "true"),
        ("system.correlationId", parent_run["id"]),
    }
    assert f'Created new execution [[link execution="{child["id"]}" flowId="child" namespace="tests"]]' in (
        messages(stack, parent_run)
    )
    assert [e["id"] for e in stack.executions(namespace="tests", labels="source:parent")] == [child["id"]]


def test_a_failed_child_fails_its_parent_unless_transmit_failed_is_false(stack):
    register(stack, CHILD, parent(fail="true"), parent("    transmitFailed: false\n", "tolerant", "true"))
    backfill(stack)
    backfill(stack, "tolerant")
    stack.drain()

    strict, tolerant = fetched(stack, "parent"), fetched(stack, "tolerant")
    children = {c["trigger"]["variables"]["flowId"]: c for c in stack.executions(namespace="tests", flowId="child")}
    assert {flow: c["state"]["current"] for flow, c in children.items()} == {"parent": "FAILED", "tolerant": "FAILED"}
    assert strict["state"]["current"] == "FAILED"
    assert runs_of(strict)["call"]["state"]["current"] == "FAILED"
    assert "after" not in runs_of(strict)
    assert tolerant["state"]["current"] == "SUCCESS"
    assert runs_of(tolerant)["call"]["outputs"]["state"] == "FAILED"
    assert runs_of(tolerant)["after"]["outputs"] == {"value": "FAILED"}


def test_a_child_not_waited_for_is_queued_and_runs_from_the_queue_after_its_parent_ended(stack):
    register(stack, CHILD, parent("    wait: false\n    inheritLabels: true\n"))
    backfill(stack)
    stack.poller().poll_once()  # the parent's slot only

    parent_run, child = fetched(stack, "parent"), fetched(stack, "child")
    assert parent_run["state"]["current"] == "SUCCESS"
    assert runs_of(parent_run)["call"]["outputs"] == {"executionId": child["id"], "state": "CREATED"}
    assert child["state"]["current"] == "CREATED"
    assert stack.queue_depth() == 1

    stack.drain()
    child = fetched(stack, "child")
    assert child["state"]["current"] == "SUCCESS"
    assert child["outputs"] == {"said": "2024-01-01 for tests.parent"}
    assert {(label["key"], label["value"]) for label in child["labels"]} >= {("tier", "gold"), ("source", "parent")}
    assert stack.queue_depth() == 0


def test_an_executor_dying_inside_a_child_resumes_it_and_never_starts_a_second_child(crashable, monkeypatch):
    stack = crashable
    register(stack, CHILD, parent())
    real, calls = task_run_module.run_task, {"n": 0}

    def dies_in_the_child(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the child's `work`, the first task run through run_task
            raise ExecutorDied()
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_task", dies_in_the_child)
    backfill(stack)
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    assert fetched(stack, "child")["state"]["current"] == "RUNNING"
    assert runs_of(fetched(stack, "parent"))["call"]["state"]["current"] == "RUNNING"  # saved before the child ran
    time.sleep(1.2)  # the message comes back after the visibility timeout, the leases have run out
    stack.drain()

    parent_run, child = fetched(stack, "parent"), fetched(stack, "child")  # one child: fetched() unpacks one
    assert (parent_run["state"]["current"], parent_run["attempt"]) == ("SUCCESS", 2)
    assert (child["state"]["current"], child["attempt"]) == ("SUCCESS", 2)
    assert runs_of(parent_run)["call"]["outputs"]["executionId"] == child["id"]
    assert stack.queue_depth() == 0


def test_a_flow_calling_itself_is_refused_directly_and_through_a_chain(stack):
    itself = parent().replace("flowId: child", "flowId: parent")
    answer = stack.call("POST", "/api/v1/flows", itself, "application/x-yaml")
    assert answer.status == 422
    assert "tasks[call].flowId: Recursive call to flow [tests.parent]" in answer.message

    register(stack, parent().replace("id: parent", "id: child", 1).replace("flowId: child", "flowId: parent"))
    answer = stack.call("POST", "/api/v1/flows", parent(), "application/x-yaml")
    assert answer.status == 422
    through = "Recursive call to flow [tests.parent] through tests.parent -> tests.child -> tests.parent"
    assert through in answer.message
    (verdict,) = stack.call("POST", "/api/v1/flows/validate", parent(), "application/x-yaml").body
    assert through in verdict["constraints"]


def test_a_chain_built_by_an_expression_is_cut_at_its_depth_and_a_missing_flow_fails_the_task(stack):
    looping = (
        """
id: looping
namespace: tests
tasks:
  - id: again
    type: io.kestra.plugin.core.flow.Subflow
    namespace: tests
    flowId: "{{ flow.id }}"
"""
        + TRIGGER
    )
    missing = parent(flow_id="lost").replace("flowId: child", "flowId: nowhere")
    register(stack, looping, missing)
    backfill(stack, "looping")
    backfill(stack, "lost")
    stack.drain()

    chain = stack.executions(namespace="tests", flowId="looping")
    assert len(chain) == MAX_SUBFLOW_DEPTH + 1
    assert {e["state"]["current"] for e in chain} == {"FAILED"}
    deepest = next(e for e in chain if not any(e["id"] == c["trigger"]["variables"].get("executionId") for c in chain))
    assert any("past the 11 allowed" in m for m in messages(stack, deepest))
    lost = fetched(stack, "lost")
    assert lost["state"]["current"] == "FAILED"
    assert "Unable to find flow 'tests'.'nowhere' with revision '0'" in messages(stack, lost)


HANDED_DOWN = """
id: child
namespace: tests
inputs:
  - id: day
    type: STRING
  - id: fail
    type: STRING
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.fail }}"
  - id: run
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - echo {{ inputs.fail }}
"""


@pytest.mark.parametrize(
    ("value", "wait"),
    [("$(touch pwned)", ""), ('"; rm -rf ~ #', ""), ("{{ 7*7 }}", ""), ("$(touch pwned)", "    wait: false\n")],
)
def test_a_backfill_value_handed_to_a_child_stays_data(stack, value, wait):
    """A child run from the queue reads up its parents to learn that a backfill started its chain."""
    caller = (
        parent(wait)
        .replace("fail: false", 'fail: "{{ inputs.given }}"')
        .replace(
            "labels:\n  tier: gold\n",
            "labels:\n  tier: gold\ninputs:\n  - id: given\n    type: STRING\n    defaults: ok\n",
        )
    )
    register(stack, HANDED_DOWN, caller)
    backfill(stack, inputs={"given": value})
    stack.drain()

    child = fetched(stack, "child")
    assert runs_of(child)["echo"]["outputs"] == {"value": value}  # never rendered again
    assert child["state"]["current"] == "FAILED"  # the shell would run it: refused before any attempt
    assert "run" in runs_of(child) and runs_of(child)["run"]["attempts"][0]["state"]["current"] == "FAILED"
    assert any("the value holds shell syntax" in m for m in messages(stack, child))
    assert fetched(stack, "parent")["state"]["current"] == ("SUCCESS" if wait else "FAILED")


SLEEPY_CHILD = """
id: child
namespace: tests
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: not reached
"""


def test_killing_the_parent_kills_the_child_it_waits_for(stack, monkeypatch):
    caller = (
        "id: parent\nnamespace: tests\ntasks:\n"
        "  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: tests\n    flowId: child\n"
        "  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: not reached\n" + TRIGGER
    )
    register(stack, SLEEPY_CHILD, caller)
    real = task_run_module.run_control_task

    def kill_the_parent_first(*args, **kwargs):
        (parent_run,) = stack.executions(namespace="tests", flowId="parent")
        assert stack.call("DELETE", f"/api/v1/executions/{parent_run['id']}/kill").status == 202
        return real(*args, **kwargs)

    monkeypatch.setattr(task_run_module, "run_control_task", kill_the_parent_first)
    backfill(stack)
    stack.drain()

    parent_run, child = fetched(stack, "parent"), fetched(stack, "child")
    assert child["state"]["current"] == "KILLED"
    assert list(runs_of(child)) == ["nap"]
    assert (runs_of(parent_run)["call"]["state"]["current"], parent_run["state"]["current"]) == ("KILLED", "KILLED")
    assert "after" not in runs_of(parent_run)


def test_a_crash_between_creating_a_queued_child_and_queueing_it_loses_nothing_and_makes_no_second(
    crashable, monkeypatch
):
    stack = crashable
    register(stack, CHILD, parent("    wait: false\n"))
    real = work_queue.send

    def dies_before_the_child_is_queued(messages):
        if any(isinstance(message, ExecutionMessage) for message in messages):
            monkeypatch.setattr(work_queue, "send", real)
            raise ExecutorDied()
        return real(messages)

    monkeypatch.setattr(work_queue, "send", dies_before_the_child_is_queued)
    backfill(stack)
    with pytest.raises(ExecutorDied):
        stack.poller().poll_once()
    assert fetched(stack, "child")["state"]["current"] == "CREATED"
    time.sleep(1.2)
    stack.drain()

    child = fetched(stack, "child")  # still one
    assert (child["state"]["current"], child["attempt"]) == ("SUCCESS", 1)
    assert fetched(stack, "parent")["state"]["current"] == "SUCCESS"

    work_queue.send([ExecutionMessage(tenant="main", execution_id=child["id"])])  # a duplicate, late
    stack.drain()
    assert fetched(stack, "child")["attempt"] == 1


def test_a_revision_not_kept_or_a_disabled_flow_fails_the_task_naming_it_and_the_latest_revision_runs(stack):
    register(
        stack,
        CHILD,
        parent("    revision: 2\n", "older"),
        parent("    revision: 1\n", "latest"),
        CHILD.replace("id: child", "id: idle").replace("namespace: tests", "namespace: tests\ndisabled: true"),
        parent(flow_id="to_off").replace("flowId: child", "flowId: idle"),
    )
    for flow_id in ("older", "latest", "to_off"):
        backfill(stack, flow_id)
    stack.drain()

    older, latest, to_off = (fetched(stack, flow_id) for flow_id in ("older", "latest", "to_off"))
    assert older["state"]["current"] == "FAILED"
    assert "Unable to find flow 'tests'.'child' with revision '2': only its latest revision (1) is kept here" in (
        messages(stack, older)
    )
    assert latest["state"]["current"] == "SUCCESS"
    assert to_off["state"]["current"] == "FAILED"
    assert "Cannot execute a flow which is disabled: 'tests'.'idle'" in messages(stack, to_off)
    assert [e["flowId"] for e in stack.executions(namespace="tests") if run_kind(e) == "subflow"] == ["child"]
