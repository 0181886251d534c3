"""The corpus of Kestra flows (tests/flows/kestra/run/) on the local stack over HTTP, as a user runs them: each
registered, backfilled with Kestra's PUT /api/v1/triggers, run by the stack's executors and task runner, and
read back as Kestra's JSON, checked against the outcome Kestra documents (tests/kestra_corpus.py)."""

import requests

from tests.kestra_corpus import CORPUS, check, executions_expected, expectations, flow_id_of, flows_of, window_of

ENDED = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")


def test_every_flow_of_the_corpus_runs_as_kestra_runs_it(local_stack):
    stack = local_stack
    flows = {}
    for path in CORPUS:
        source = path.read_text()
        expected = expectations(source)
        flow_id = flow_id_of(source)
        for flow in flows_of(source):
            registered = requests.post(
                f"{stack.url}/api/v1/flows", data=flow, headers={"Content-Type": "application/x-yaml"}, timeout=30
            )
            assert registered.status_code == 200, (path.name, registered.text)
        start, end = window_of(expected)
        body = {
            "namespace": "tests",
            "flowId": flow_id,
            "triggerId": "every_hour",
            "backfill": {"start": start, "end": end},
        }
        started = requests.put(f"{stack.url}/api/v1/triggers", json=body, timeout=30)
        assert started.status_code == 200, (path.name, started.text)
        flows[flow_id] = (path.name, expected)

    def all_ended():
        for flow_id, (_, expected) in flows.items():
            found = stack.backfills(namespace="tests", flowId=flow_id)  # the live schedule may run meanwhile
            if len(found) != executions_expected(expected) or any(e["state"]["current"] not in ENDED for e in found):
                return False
        return True

    stack.wait_for(all_ended, timeout=300, what="every execution of the corpus ended")
    for flow_id, (name, expected) in flows.items():
        (first, *_) = stack.backfills(namespace="tests", flowId=flow_id)
        execution = stack.get(f"/api/v1/executions/{first['id']}")
        logs = requests.get(f"{stack.url}/api/v1/logs/{execution['id']}", timeout=30).json()
        check(execution, logs, expected, name)
