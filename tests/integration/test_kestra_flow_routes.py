"""Kestra's flow routes beside a flow's own: search, distinct namespaces, revisions, and the flow JSON Kestra's
models read (labels always a list)."""

import pytest

from tests.flows import QUICK
from tests.harness import Harness
from tests.kestra_schemas import problems

YAML = "application/x-yaml"


@pytest.fixture
def stack(aws):
    """The handlers against moto, without the example flows: the searches here count every flow."""
    return Harness(aws)


def created(stack, source: str) -> dict:
    answer = stack.call("POST", "/api/v1/flows", source, YAML)
    assert answer.status == 200, answer.raw
    return answer.body


def in_namespace(namespace: str, flow_id: str = "quick") -> str:
    return QUICK.replace("namespace: tests", f"namespace: {namespace}").replace("id: quick", f"id: {flow_id}")


def test_flow_search_is_not_read_as_a_namespace_called_search(stack):
    """Was: GET /flows/search answered 200 [] (the flows of a namespace called "search")."""
    for namespace, flow_id in [("tests", "quick"), ("tests", "alpha"), ("company.team", "zeta"), ("company", "beta")]:
        created(stack, in_namespace(namespace, flow_id))
    found = stack.call("GET", "/api/v1/flows/search")
    assert found.status == 200, found.raw
    assert [(f["namespace"], f["id"]) for f in found.body["results"]] == [
        ("company", "beta"),
        ("company.team", "zeta"),
        ("tests", "alpha"),
        ("tests", "quick"),
    ]
    assert found.body["total"] == 4
    assert problems("1.3", found.body, "PagedResults_Flow_") == []
    assert problems("2.0", found.body, "PagedResults_Flow_") == []

    by_id = stack.call("GET", "/api/v1/flows/search?sort=id:desc&size=2").body
    assert ([f["id"] for f in by_id["results"]], by_id["total"]) == (["zeta", "quick"], 4)
    below = stack.call("GET", "/api/v1/flows/search?namespace=company").body["results"]
    assert [f["id"] for f in below] == ["beta", "zeta"]  # the namespace and those below it, as Kestra's prefix
    assert [f["id"] for f in stack.call("GET", "/api/v1/flows/search?q=ALP").body["results"]] == ["alpha"]
    assert stack.call("GET", "/api/v1/flows/search?sort=revision:asc").status == 422
    filtered = stack.call("GET", "/api/v1/flows/search?filters[namespace][EQUALS]=tests").body["results"]
    assert [f["id"] for f in filtered] == ["alpha", "quick"]  # more in test_query_filters_flows_logs.py
    refused = stack.call("GET", "/api/v1/flows/search?filters[state][EQUALS]=SUCCESS")
    assert refused.status == 422 and "filters[state]" in refused.message


def test_search_pages_ten_flows_at_a_time_by_default(stack):
    for index in range(11):
        created(stack, in_namespace("tests", f"f{index:02}"))
    page = stack.call("GET", "/api/v1/flows/search").body
    assert (len(page["results"]), page["total"]) == (10, 11)
    assert [f["id"] for f in stack.call("GET", "/api/v1/flows/search?page=2").body["results"]] == ["f10"]


def test_distinct_namespaces(stack):
    """Was: GET /flows/distinct-namespaces answered 200 [] (the flows of a namespace of that name)."""
    for namespace, flow_id in [("tests", "quick"), ("tests", "other"), ("company.team", "zeta")]:
        created(stack, in_namespace(namespace, flow_id))
    answer = stack.call("GET", "/api/v1/flows/distinct-namespaces")
    assert (answer.status, answer.body) == (200, ["company.team", "tests"])
    assert stack.call("GET", "/api/v1/flows/distinct-namespaces?q=TEAM").body == ["company.team"]


def test_revisions_answer_the_one_revision_kept(stack):
    created(stack, QUICK)
    changed = stack.call("PUT", "/api/v1/flows/tests/quick", QUICK.replace("0 * * * *", "30 * * * *"), YAML)
    assert changed.status == 200
    revisions = stack.call("GET", "/api/v1/flows/tests/quick/revisions")
    assert revisions.status == 200, revisions.raw
    assert [(f["revision"], f["source"]) for f in revisions.body] == [(2, changed.body["source"])]
    assert revisions.body == [stack.call("GET", "/api/v1/flows/tests/quick").body]
    assert problems("1.3", revisions.body[0], "FlowWithSource") == []
    assert problems("2.0", revisions.body[0], "FlowWithSource") == []
    assert stack.call("GET", "/api/v1/flows/tests/absent/revisions").status == 404
    assert stack.call("GET", "/api/v1/flows/tests/quick/revisions?allowDelete=maybe").status == 422


def test_flow_labels_given_as_a_map_are_answered_as_a_list(stack):
    """Was: a flow whose YAML gave labels as a map was answered with the map; Kestra writes a list of
    {key, value}, which kestrapy's FlowWithSource.from_dict requires."""
    labelled = QUICK.replace("namespace: tests\n", "namespace: tests\nlabels:\n  team: data\n  tier: 1\n")
    body = created(stack, labelled)
    expected = [{"key": "team", "value": "data"}, {"key": "tier", "value": "1"}]
    assert body["labels"] == expected
    assert body["source"] == labelled  # the source stays as written
    for answer in (
        stack.call("GET", "/api/v1/flows/tests/quick").body,
        stack.call("GET", "/api/v1/flows/tests").body[0],
    ):
        assert answer["labels"] == expected
        assert (answer["disabled"], answer["draft"]) == (False, False)
        assert problems("1.3", answer, "FlowWithSource") == []
        assert problems("2.0", answer, "FlowWithSource") == []


def test_kestra_s_flow_routes_not_served_are_not_read_as_an_empty_namespace(stack):
    """Was: GET /flows/source and /flows/deprecated (Kestra's routes) answered 200 [], a namespace of that name."""
    for name in ("source", "deprecated"):
        answer = stack.call("GET", f"/api/v1/flows/{name}")
        assert answer.status == 404 and answer.message.startswith(f"No route for GET /flows/{name}"), answer.raw
