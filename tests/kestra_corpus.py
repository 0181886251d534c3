"""The corpus of Kestra flows that run here (tests/flows/kestra/run/) and the outcome each one's first lines
expect, checked the same way by the integration test (handlers against moto) and the e2e test (the local stack
over HTTP). The expectation lines:

    # state = SUCCESS                       the execution's state
    # output <taskId>.<path> = <value>      a task run's output (text, or JSON for numbers)
    # flow-output <id> = <value>            one of the execution's outputs
    # attempts <taskId> = FAILED,SUCCESS    the task run's attempts, by state
    # tasks = a,b                           the task runs, in order
    # task-state <taskId> = SKIPPED         a task run's state
    # log <taskId> ~ <text>                 a log line of the task contains the text
    # log-level <taskId> = <LEVEL>          the task's log line is at this level
    # label <key> = <value>                 a label of the execution
    # window = <start>..<end>               the backfill's range (else one slot, 2024-03-04T06:00:00Z)
    # executions = <n>                      how many executions the range makes

A file may hold more YAML documents after the flow it runs, separated by `---` lines: the flows it calls
(Subflow tasks), registered before it.
"""

import json
from pathlib import Path

CORPUS = sorted((Path(__file__).resolve().parent / "flows" / "kestra" / "run").glob("*.yaml"))
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


def flows_of(source: str) -> list[str]:
    """The flows to register, in order: those the file's flow calls, then the flow itself (its first document)."""
    first, *called = source.split("\n---\n")
    return [*called, first]


def flow_id_of(source: str) -> str:
    return next(line for line in source.splitlines() if line.startswith("id: ")).removeprefix("id: ")


def window_of(expected: list[tuple[str, str, str]]) -> tuple[str, str]:
    written = next((value for kind, _, value in expected if kind == "window"), f"{SLOT}..{SLOT}")
    start, _, end = written.partition("..")
    return start, end


def executions_expected(expected: list[tuple[str, str, str]]) -> int:
    return next((int(value) for kind, _, value in expected if kind == "executions"), 1)


def _dig(value, path: str):
    for part in path.split("."):
        value = value[part]
    return value


def _same(actual, expected: str) -> bool:
    return actual == expected if isinstance(actual, str) else actual == json.loads(expected)


def check(execution: dict, logs: list[dict], expected: list[tuple[str, str, str]], name: str) -> None:
    """Assert each expectation on one execution (Kestra's JSON) and its log lines."""
    runs = {run["taskId"]: run for run in execution["taskRunList"]}
    for kind, target, value in expected:
        if kind == "state":
            assert execution["state"]["current"] == value, (name, logs)
        elif kind == "output":
            task_id, _, inner = target.partition(".")
            assert _same(_dig(runs[task_id]["outputs"], inner), value), (name, runs[task_id])
        elif kind == "flow-output":
            assert _same(execution["outputs"][target], value), (name, execution.get("outputs"))
        elif kind == "attempts":
            assert [a["state"]["current"] for a in runs[target]["attempts"]] == value.split(","), name
        elif kind == "tasks":
            assert [run["taskId"] for run in execution["taskRunList"]] == value.split(","), name
        elif kind == "task-state":
            assert runs[target]["state"]["current"] == value, (name, runs[target])
        elif kind == "log":
            assert any(line["taskId"] == target and value in line["message"] for line in logs), (name, logs)
        elif kind == "log-level":
            assert [line["level"] for line in logs if line["taskId"] == target] == [value], (name, logs)
        elif kind == "label":
            assert {"key": target, "value": value} in execution["labels"], name
        else:
            assert kind in ("window", "executions"), f"unknown expectation '{kind}' in {name}"
