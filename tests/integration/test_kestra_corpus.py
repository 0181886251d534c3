"""Kestra flows as users write them (tests/flows/kestra/run/), each registered, backfilled and run through the
executor and the task runner (handlers against moto), checked against the outcome Kestra documents: see
tests/kestra_corpus.py for what each flow's first lines expect."""

import pytest

from tests.flows import backfill_body
from tests.kestra_corpus import CORPUS, check, executions_expected, expectations, flow_id_of, flows_of, window_of


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_a_kestra_flow_runs_as_kestra_runs_it(stack, path):
    source = path.read_text()
    expected = expectations(source)
    flow_id = flow_id_of(source)
    for flow in flows_of(source):
        registered = stack.call("POST", "/api/v1/flows", flow, "application/x-yaml")
        assert registered.status == 200, registered.raw
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, *window_of(expected)))
    assert answer.status == 200, answer.raw
    stack.drain()
    executions = stack.executions(namespace="tests", flowId=flow_id)
    assert len(executions) == executions_expected(expected)
    execution = stack.call("GET", f"/api/v1/executions/{executions[0]['id']}").body
    logs = stack.call("GET", f"/api/v1/logs/{execution['id']}").body
    check(execution, logs, expected, path.name)


def test_the_corpus_holds_forty_flows_or_more():
    assert len(CORPUS) >= 40
