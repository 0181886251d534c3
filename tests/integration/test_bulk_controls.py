"""Kestra's bulk forms of pause, unpause and delete: by-triggers (a list) and by-query, answering a count."""

import pytest

from tests.flows import QUICK, backfill_body, ref

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")
OTHER = QUICK.replace("id: quick", "id: other")


@pytest.fixture
def two_running(stack):
    for source, flow_id in ((QUICK, "quick"), (OTHER, "other")):
        assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
        assert stack.call("PUT", "/api/v1/triggers", backfill_body(flow_id, *DAY)).status == 200
    return stack


def paused(stack, flow_id):
    context = stack.call("GET", f"/api/v1/triggers/search?namespace=tests&flowId={flow_id}").body["results"][0]
    backfill = context["triggerContext"]["backfill"]
    return backfill and backfill["paused"]


def test_by_triggers(two_running):
    stack = two_running
    refs = [ref("quick"), ref("other"), {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule"}]
    answer = stack.call("POST", "/api/v1/triggers/backfill/pause/by-triggers", refs)
    assert answer.status == 200, answer.raw
    assert answer.body == {"count": 2, "totalItems": 2}  # the dev trigger has no backfill
    assert paused(stack, "quick") and paused(stack, "other")
    assert stack.call("POST", "/api/v1/main/triggers/backfill/unpause/by-triggers", [ref("quick")]).body == {
        "count": 1,
        "totalItems": 1,
    }
    assert not paused(stack, "quick") and paused(stack, "other")
    assert stack.call("POST", "/api/v1/triggers/backfill/delete/by-triggers", refs).body == {
        "count": 2,
        "totalItems": 2,
    }
    assert stack.call("POST", "/api/v1/triggers/backfill/delete/by-triggers", refs).body == {
        "count": 0,
        "totalItems": 0,
    }


def test_by_query(two_running):
    stack = two_running
    answer = stack.call("POST", "/api/v1/triggers/backfill/pause/by-query?namespace=tests&q=oth")
    assert answer.body == {"count": 1, "totalItems": 1}
    assert paused(stack, "other") and not paused(stack, "quick")
    assert stack.call("POST", "/api/v1/triggers/backfill/delete/by-query?namespace=tests").body == {
        "count": 2,
        "totalItems": 2,
    }
    stack.drain()
    assert len(stack.executions(namespace="tests")) == 0


def test_bad_bulk_requests(two_running):
    stack = two_running
    unknown = stack.call("POST", "/api/v1/triggers/backfill/explode/by-triggers", [ref("quick")])
    assert unknown.status == 404 and "explode" in unknown.message
    bad = stack.call("POST", "/api/v1/triggers/backfill/pause/by-triggers", {"namespace": "tests"})
    assert bad.status == 422
    assert not paused(stack, "quick")
