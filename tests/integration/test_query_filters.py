"""Kestra's query filters, `filters[field][OPERATION]=value`, on every search and by-query route: each operation
with Kestra's meaning, together with the legacy parameters, and a filter we cannot honour refused by name rather
than dropped (dropped, a bulk route would act on every trigger)."""

import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.flows import QUICK, backfill_body

ORDERS = """
id: load_orders
namespace: company.etl
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "orders {{ trigger.date }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
QUICK_RUNS = ["quick", "quick"]
ORDERS_RUNS = ["load_orders"]
EVERY_RUN = sorted(QUICK_RUNS + ORDERS_RUNS)


def search(stack, path: str, params: list[tuple[str, str]]):
    return stack.call("GET", f"{path}?{urlencode(params)}")


def flows_found(stack, params: list[tuple[str, str]]) -> list[str]:
    answer = search(stack, "/api/v1/executions/search", [("size", "100"), *params])
    assert answer.status == 200, f"{params}: {answer.raw}"
    return sorted(e["flowId"] for e in answer.body["results"])


@pytest.fixture
def two_namespaces(stack):
    """Two runs of tests.quick (label team=data), then, after `between`, one of company.etl.load_orders
    (labels team=ops, env=prod)."""
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", labels={"team": "data"})
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    assert stack.call("POST", "/api/v1/flows", ORDERS, "application/x-yaml").status == 200
    body = {
        "namespace": "company.etl",
        "flowId": "load_orders",
        "triggerId": "every_hour",
        "backfill": {
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-01-01T00:00:00Z",
            "labels": {"team": "ops", "env": "prod"},
        },
    }
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    return stack, between


def test_each_operation_on_executions_search(two_namespaces):
    stack, between = two_namespaces
    cases = [
        ([("filters[namespace][EQUALS]", "tests")], QUICK_RUNS),
        ([("filters[namespace][EQUALS]", "company")], []),  # EQUALS is the namespace itself, not those below
        ([("filters[namespace][PREFIX]", "company")], ORDERS_RUNS),
        ([("filters[namespace][NOT_EQUALS]", "tests")], ORDERS_RUNS),
        ([("filters[namespace][IN]", "tests,company.etl")], EVERY_RUN),
        ([("filters[namespace][IN]", "[tests]")], QUICK_RUNS),
        ([("filters[namespace][NOT_IN]", "tests,nothing")], ORDERS_RUNS),
        ([("filters[namespace][STARTS_WITH]", "comp")], ORDERS_RUNS),
        ([("filters[namespace][ENDS_WITH]", ".etl")], ORDERS_RUNS),
        ([("filters[namespace][CONTAINS]", "pan")], ORDERS_RUNS),
        ([("filters[namespace][REGEX]", "^te.t")], QUICK_RUNS),
        ([("filters[flowId][REGEX]", "_orders$")], ORDERS_RUNS),
        ([("filters[flowId][CONTAINS]", "uic")], QUICK_RUNS),
        ([("filters[flowId][EQUALS]", "quick")], QUICK_RUNS),  # flowId alone, without a namespace
        ([("filters[state][EQUALS]", "SUCCESS")], EVERY_RUN),
        ([("filters[state][NOT_EQUALS]", "SUCCESS")], []),
        ([("filters[state][IN]", "FAILED,SUCCESS")], EVERY_RUN),
        ([("filters[state][NOT_IN]", "FAILED,SUCCESS")], []),
        ([("filters[labels][EQUALS][team]", "data")], QUICK_RUNS),
        ([("filters[labels][EQUALS][team]", "ops"), ("filters[labels][EQUALS][env]", "prod")], ORDERS_RUNS),
        ([("filters[labels][EQUALS][team]", "ops"), ("filters[labels][EQUALS][env]", "dev")], []),
        ([("filters[labels][IN][team]", "data"), ("filters[labels][IN][env]", "prod")], EVERY_RUN),
        ([("filters[labels][NOT_EQUALS][team]", "data")], ORDERS_RUNS),
        ([("filters[labels][NOT_IN][env]", "prod")], QUICK_RUNS),
        ([("filters[labels][CONTAINS]", "PRO")], ORDERS_RUNS),  # a key or a value, in any case
        ([("filters[q][EQUALS]", "ORDERS")], ORDERS_RUNS),
        ([("filters[q][NOT_EQUALS]", "orders")], QUICK_RUNS),
        ([("filters[startDate][GREATER_THAN]", between)], ORDERS_RUNS),
        ([("filters[startDate][GREATER_THAN_OR_EQUAL_TO]", between)], ORDERS_RUNS),
        ([("filters[startDate][LESS_THAN]", between)], QUICK_RUNS),
        ([("filters[startDate][LESS_THAN_OR_EQUAL_TO]", between)], QUICK_RUNS),
        ([("filters[startDate][EQUALS]", between)], []),
        ([("filters[startDate][NOT_EQUALS]", between)], EVERY_RUN),
        ([("filters[endDate][LESS_THAN_OR_EQUAL_TO]", between)], QUICK_RUNS),  # Kestra's: bounds the start too
        ([("filters[timeRange][EQUALS]", "PT1H")], EVERY_RUN),
        # Kestra 2.0's dateFilter: which date startDate, endDate and timeRange bound
        ([("dateFilter", "END_DATE"), ("filters[endDate][GREATER_THAN]", between)], ORDERS_RUNS),
        ([("dateFilter", "START_OR_END_DATE"), ("filters[startDate][LESS_THAN]", between)], QUICK_RUNS),
        ([("filters[scope][EQUALS]", "USER")], EVERY_RUN),
        ([("filters[scope][EQUALS]", "SYSTEM")], []),
        ([("filters[scope][NOT_EQUALS]", "SYSTEM")], EVERY_RUN),
        ([("filters[kind][EQUALS]", "NORMAL")], EVERY_RUN),
        ([("filters[kind][IN]", "TEST,PLAYGROUND")], []),
        ([("filters[childFilter][EQUALS]", "MAIN")], EVERY_RUN),
        ([("filters[childFilter][EQUALS]", "CHILD")], []),
        ([("filters[triggerExecutionId][EQUALS]", "x")], []),
        # the same key twice: both hold
        ([("filters[namespace][NOT_EQUALS]", "tests"), ("filters[namespace][NOT_EQUALS]", "company.etl")], []),
        # kestrapy 2.x's groups: an OR of two filters, an OR of an AND
        (
            [("filters[or][0][flowId][EQUALS]", "quick"), ("filters[or][1][namespace][EQUALS]", "company.etl")],
            EVERY_RUN,
        ),
        (
            [
                ("filters[or][0][flowId][EQUALS]", "nothing"),
                ("filters[or][1][namespace][EQUALS]", "tests"),
                ("filters[or][1][labels][EQUALS][team]", "data"),
            ],
            QUICK_RUNS,
        ),
    ]
    wrong = [
        (params, found, expected) for params, expected in cases if (found := flows_found(stack, params)) != expected
    ]
    assert wrong == []


def test_legacy_parameters_and_filters_hold_together(two_namespaces):
    stack, _ = two_namespaces
    assert flows_found(stack, [("namespace", "tests"), ("filters[flowId][EQUALS]", "load_orders")]) == []
    assert flows_found(stack, [("namespace", "company"), ("filters[namespace][EQUALS]", "company.etl")]) == ORDERS_RUNS
    assert flows_found(stack, [("state", "SUCCESS"), ("filters[labels][EQUALS][team]", "data")]) == QUICK_RUNS
    assert flows_found(stack, [("labels", "team:data"), ("filters[labels][NOT_EQUALS][team]", "data")]) == []
    page = search(stack, "/api/v1/executions/search", [("size", "1"), ("filters[flowId][EQUALS]", "quick")]).body
    assert page["total"] == 2 and len(page["results"]) == 1


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([("filters[workerId][EQUALS]", "w1")], "filters[workerId]: not supported"),
        ([("filters[scope][IN]", "USER")], "filters[scope][IN]: not supported"),
        ([("filters[triggerExecutionId][REGEX]", "x")], "filters[triggerExecutionId][REGEX]: not supported"),
        ([("filters[namespace][LIKE]", "x")], "filters[namespace][LIKE]: not supported"),
        ([("filters[namespace]", "x")], "filters[namespace]: not a filter"),
        ([("filters[state][EQUALS]", "DONE")], "filters[state][EQUALS]: 'DONE'"),
        ([("filters[startDate][GREATER_THAN]", "yesterday")], "filters[startDate][GREATER_THAN]"),
        ([("filters[timeRange][EQUALS]", "7 days")], "filters[timeRange][EQUALS]"),
        ([("filters[labels][EQUALS]", "team:data")], "filters[labels][EQUALS]"),
        ([("filters[namespace][REGEX]", "(unclosed")], "filters[namespace][REGEX]"),
        ([("filters[namespace][REGEX]", "a" * 201)], "filters[namespace][REGEX]: a pattern may be at most 200"),
        ([("filters[and][0][or][0][and][0][flowId][EQUALS]", "x")], "grouped at most 2 deep"),
        ([("dateFilter", "CREATED")], "dateFilter"),
    ],
)
def test_a_filter_not_honoured_is_refused_by_name(stack, params, named):
    answer = search(stack, "/api/v1/executions/search", params)
    assert answer.status == 422 and named in answer.message, answer.raw


@pytest.fixture
def quick_running(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    answer = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    )
    assert answer.status == 200, answer.raw
    return stack


def quick_paused(stack) -> bool:
    results = stack.call("GET", "/api/v1/triggers/search?namespace=tests&flowId=quick").body["results"]
    return results[0]["triggerContext"]["backfill"]["paused"]


def test_pause_by_query_with_a_filter_of_another_namespace_pauses_nothing(quick_running):
    stack = quick_running
    for action in ("pause", "unpause", "delete"):
        answer = stack.call("POST", f"/api/v1/triggers/backfill/{action}/by-query?filters[namespace][EQUALS]=nothing")
        assert answer.status == 200 and answer.body == {"count": 0, "totalItems": 0}, answer.raw
    assert not quick_paused(stack)
    refused = stack.call("POST", "/api/v1/triggers/backfill/pause/by-query?filters[state][EQUALS]=RUNNING")
    assert refused.status == 422 and "filters[state]: not supported" in refused.message
    refused = stack.call("POST", "/api/v1/triggers/backfill/pause/by-query?filters[namespace][EQUAL]=tests")
    assert refused.status == 422 and "filters[namespace][EQUAL]: not supported" in refused.message
    assert not quick_paused(stack)

    mine = "filters[namespace][EQUALS]=tests&filters[flowId][EQUALS]=quick&filters[triggerId][EQUALS]=every_hour"
    assert stack.call("POST", f"/api/v1/triggers/backfill/pause/by-query?{mine}").body == {"count": 1, "totalItems": 1}
    assert quick_paused(stack)
    legacy_and_filter = "namespace=tests&filters[flowId][NOT_EQUALS]=quick"
    assert stack.call("POST", f"/api/v1/triggers/backfill/unpause/by-query?{legacy_and_filter}").body == {
        "count": 0,
        "totalItems": 0,
    }
    assert quick_paused(stack)
    assert stack.call("POST", "/api/v1/triggers/backfill/unpause/by-query?filters[q][EQUALS]=QUI").body == {
        "count": 1,
        "totalItems": 1,
    }
    assert not quick_paused(stack)


def test_trigger_search_and_backfill_list_take_filters(quick_running):
    stack = quick_running
    assert stack.call("POST", "/api/v1/flows", ORDERS, "application/x-yaml").status == 200

    def triggers(query: str) -> list[str]:
        answer = stack.call("GET", f"/api/v1/triggers/search?{query}")
        assert answer.status == 200, answer.raw
        return sorted(entry["triggerContext"]["flowId"] for entry in answer.body["results"])

    assert triggers("filters[namespace][PREFIX]=company.etl") == ["load_orders"]
    assert triggers("filters[namespace][PREFIX]=company") == ["load_orders", "scheduled_flow"]  # the seed's flow
    assert triggers("filters[flowId][IN]=quick,load_orders&filters[triggerId][STARTS_WITH]=every") == [
        "load_orders",
        "quick",
    ]
    assert triggers("filters[triggerState][EQUALS]=enabled&filters[namespace][EQUALS]=tests") == ["quick"]
    assert triggers("filters[triggerState][EQUALS]=disabled&filters[namespace][EQUALS]=tests") == []
    assert triggers("namespace=tests&filters[q][EQUALS]=orders") == []
    refused = stack.call("GET", "/api/v1/triggers/search?filters[labels][EQUALS][a]=b")
    assert refused.status == 422 and "filters[labels]: not supported" in refused.message

    def backfills(query: str) -> int:
        answer = stack.call("GET", f"/api/v1/backfills?{query}")
        assert answer.status == 200, answer.raw
        return answer.body["total"]

    assert backfills("filters[flowId][EQUALS]=quick") == 1
    assert backfills("filters[namespace][NOT_EQUALS]=tests") == 0
    refused = stack.call("GET", "/api/v1/backfills?filters[triggerState][EQUALS]=enabled")
    assert refused.status == 422 and "filters[triggerState]" in refused.message


def test_filters_on_a_route_that_takes_none_are_refused_before_it_runs(quick_running):
    stack = quick_running
    body = [{"namespace": "tests", "flowId": "quick", "triggerId": "every_hour"}]
    answer = stack.call("POST", "/api/v1/triggers/backfill/pause/by-triggers?filters[namespace][EQUALS]=tests", body)
    assert answer.status == 422 and "filters[namespace][EQUALS]: not supported" in answer.message, answer.raw
    assert not quick_paused(stack)
    for path in ("/api/v1/flows/tests", "/api/v1/backfills/nothing/slots"):
        answer = stack.call("GET", f"{path}?filters[level][EQUALS]=INFO")
        assert answer.status == 422 and "filters[level][EQUALS]" in answer.message, answer.raw
