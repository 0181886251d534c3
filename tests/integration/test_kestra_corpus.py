"""Kestra flows as users write them (tests/flows/kestra/run/), each registered, backfilled and run through the
executor and the task runner, checked against the outcome Kestra documents: the execution's state, its task
runs, attempts, outputs, logs and labels. Each flow's first lines say what to expect:

    # state = SUCCESS                       the execution's state
    # output <taskId>.<path> = <value>      a task run's output (text, or JSON for numbers)
    # flow-output <id> = <value>            one of the execution's outputs
    # attempts <taskId> = FAILED,SUCCESS    the task run's attempts, by state
    # tasks = a,b                           the task runs, in order
    # log <taskId> ~ <text>                 a log line of the task contains the text
    # log-level <taskId> = <LEVEL>          the task's log line is at this level
    # label <key> = <value>                 a label of the execution
    # window = <start>..<end>               the backfill's range (else one slot, 2024-03-04T06:00:00Z)
    # executions = <n>                      how many executions the range makes
"""

import json
from pathlib import Path

import pytest

from tests.flows import backfill_body

CORPUS = sorted((Path(__file__).resolve().parents[1] / "flows" / "kestra" / "run").glob("*.yaml"))
SLOT = "2024-03-04T06:00:00Z"


def expectations(source: str) -> list[tuple[str, str, str]]:
    found = []
    for line in source.splitlines():
        if not line.startswith("# "):
            break
        head, _, value = line[2:].partition(" = ") if " = " in line else line[2:].partition(" ~ ")
        kind, _, target = head.partition(" ")
        found.append((kind, target, value))
    return found


def dig(value, path: str):
    for part in path.split("."):
        value = value[part]
    return value


def same(actual, expected: str) -> bool:
    if isinstance(actual, str):
        return actual == expected
    return actual == json.loads(expected)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_a_kestra_flow_runs_as_kestra_runs_it(stack, path):
    source = path.read_text()
    expected = expectations(source)
    flow_id = next(line for line in source.splitlines() if line.startswith("id: ")).removeprefix("id: ")
    registered = stack.call("POST", "/api/v1/flows", source, "application/x-yaml")
    assert registered.status == 200, registered.raw
    window = dict((k, v) for k, _, v in [(k, t, v) for k, t, v in expected] if k == "window")
    start, _, end = window.get("window", f"{SLOT}..{SLOT}").partition("..")
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, start, end))
    assert answer.status == 200, answer.raw
    stack.drain()
    executions = stack.executions(namespace="tests", flowId=flow_id)
    count = next((int(v) for k, _, v in expected if k == "executions"), 1)
    assert len(executions) == count
    execution = stack.call("GET", f"/api/v1/executions/{executions[0]['id']}").body
    runs = {run["taskId"]: run for run in execution["taskRunList"]}
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    for kind, target, value in expected:
        if kind == "state":
            assert execution["state"]["current"] == value, logs
        elif kind == "output":
            task_id, _, inner = target.partition(".")
            assert same(dig(runs[task_id]["outputs"], inner), value), runs[task_id]
        elif kind == "flow-output":
            assert same(execution["outputs"][target], value), execution.get("outputs")
        elif kind == "attempts":
            assert [a["state"]["current"] for a in runs[target]["attempts"]] == value.split(",")
        elif kind == "tasks":
            assert [run["taskId"] for run in execution["taskRunList"]] == value.split(",")
        elif kind == "log":
            assert any(line["taskId"] == target and value in line["message"] for line in logs), logs
        elif kind == "log-level":
            assert [line["level"] for line in logs if line["taskId"] == target] == [value], logs
        elif kind == "label":
            assert {"key": target, "value": value} in execution["labels"]
        else:
            assert kind in ("window", "executions"), f"unknown expectation '{kind}' in {path.name}"
