"""Execution and flow JSON as Kestra's strict client models read it (kestrapy's Execution, FlowWithSource):
tests/e2e/test_kestrapy.py parses them with the SDK itself; these pin the fields it refused."""

from tests.flows import QUICK, backfill_body
from tests.harness import BACKFILL_LABEL, correlation_label, run_kind

YAML = "application/x-yaml"
LABELLED = QUICK.replace("tasks:", "labels:\n  team: data\ntasks:", 1)


def test_an_execution_has_no_kind_kestra_refuses_and_a_backfill_run_carries_system_backfill(stack):
    """kestrapy's Execution refused `kind: "backfill"` (Kestra's kinds are NORMAL, TEST and PLAYGROUND)."""
    assert stack.call("POST", "/api/v1/flows", QUICK, YAML).status == 200
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", labels={"reason": "outage"})
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    found = stack.executions(namespace="tests", labels="system.backfill:true")
    assert len(found) == 2  # the label is stored: a labels search finds the backfill's runs
    for execution in found:
        assert "kind" not in execution
        assert execution["labels"] == [
            {"key": "reason", "value": "outage"},
            BACKFILL_LABEL,
            correlation_label(execution),
        ]
        assert run_kind(execution) == "backfill" and execution["backfillId"]
        one = stack.call("GET", f"/api/v1/executions/{execution['id']}").body
        assert "kind" not in one and one["originalId"] == one["id"]
        created = one["state"]["histories"][0]
        assert created["state"] == "CREATED"
        assert one["metadata"] == {"attemptNumber": 1, "originalCreatedDate": created["date"]}


def test_a_flow_s_labels_are_a_list_and_it_says_it_is_neither_disabled_nor_a_draft(stack):
    """kestrapy's FlowWithSource refused labels written as a map, and requires `disabled` (and 2.x `draft`)."""
    created = stack.call("POST", "/api/v1/flows", LABELLED, YAML)
    assert created.status == 200, created.raw
    for flow in (created.body, stack.call("GET", "/api/v1/flows/tests/quick").body):
        assert flow["labels"] == [{"key": "team", "value": "data"}]
        assert (flow["disabled"], flow["draft"]) == (False, False)
        assert "team: data" in flow["source"]  # the source stays as written
