"""GET /executions/search in start-date order finds its page on the ByFlowStart index's keys: the same executions,
in the same order, as reading every execution and sorting them (the path any other sort takes), reading only
the page's executions, and a `total` that is exact or, past the look-ahead, a lower bound beyond the page."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from backfill_core.flows.execution import Execution, ExecutionTrigger, Label, State, StateHistory
from backfill_core.kestra_api import execution_pages
from backfill_core.storage import executions_repository, executions_search
from tests.harness import Harness

FIRST = datetime(2024, 1, 1, tzinfo=UTC)


def execution(n: int, namespace: str = "shop.orders", flow_id: str = "load", tied: bool = False) -> Execution:
    """The n-th run: started n minutes after FIRST (every third at the same instant as the one before, when
    `tied`), FAILED when n is a multiple of 3, labelled team=data when n is even."""
    started = FIRST + timedelta(minutes=n - (1 if tied and n % 3 == 0 else 0))
    state = "FAILED" if n % 3 == 0 else "SUCCESS"
    ended = started + timedelta(seconds=n)
    return Execution(
        id=f"run{n:03d}{namespace.replace('.', '')}{flow_id}",
        tenant_id="main",
        namespace=namespace,
        flow_id=flow_id,
        flow_revision=1,
        labels=[Label(key="team", value="data" if n % 2 == 0 else "ops")],
        trigger=ExecutionTrigger(id="hourly", type="io.kestra.plugin.core.trigger.Schedule", variables={}),
        state=State(
            current=state,
            histories=[StateHistory(state="RUNNING", date=started), StateHistory(state=state, date=ended)],
            start_date=started,
            end_date=ended,
        ),
        scheduled_date=started,
    )


@pytest.fixture
def history(aws) -> Harness:
    """Two flows in one namespace and one in another, with runs started at the same instant."""
    for n in range(1, 31):
        assert executions_repository.create_if_absent(execution(n, tied=True))
    for n in range(1, 9):
        assert executions_repository.create_if_absent(execution(n, flow_id="clean"))
        assert executions_repository.create_if_absent(execution(n, namespace="shop", flow_id="load"))
    return Harness(aws)


def search(stack: Harness, params: list[tuple[str, str]]) -> dict:
    answer = stack.call("GET", f"/api/v1/executions/search?{urlencode(params)}")
    assert answer.status == 200, answer.raw
    return answer.body


SIZE = 7  # a page
FLOW = [("namespace", "shop.orders"), ("flowId", "load")]
SEARCHES = [
    FLOW,
    [("filters[namespace][EQUALS]", "shop.orders"), ("filters[flowId][EQUALS]", "load")],
    [*FLOW, ("state", "FAILED")],
    [*FLOW, ("filters[labels][EQUALS][team]", "data")],
    [*FLOW, ("filters[state][IN]", "SUCCESS"), ("filters[q][EQUALS]", "run01")],
    [*FLOW, ("filters[startDate][GREATER_THAN]", "2024-01-01T00:05:00Z")],
    [*FLOW, ("filters[startDate][LESS_THAN_OR_EQUAL_TO]", "2024-01-01T00:20:00Z"), ("startDate", "2024-01-01T00:02Z")],
    [*FLOW, ("filters[endDate][LESS_THAN]", "2024-01-01T00:20:00Z"), ("dateFilter", "END_DATE")],
    [("namespace", "shop")],
    [("filters[flowId][EQUALS]", "load")],
    [("filters[state][EQUALS]", "FAILED")],
    [],
]


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_index_pages_are_those_of_reading_every_execution(history, direction):
    wrong = []
    for params in SEARCHES:
        by_id = [("sort", f"state.startDate:{direction}"), ("sort", "id:asc")]  # two orders: every one read
        every = search(history, [*params, ("size", "1000"), *by_id])
        expected = [e["id"] for e in every["results"]]
        for page in range(1, len(expected) // SIZE + 2):
            paging = [*params, ("size", str(SIZE)), ("page", str(page))]
            found = search(history, [*paging, ("sort", f"state.startDate:{direction}")])
            if [e["id"] for e in found["results"]] != expected[(page - 1) * SIZE : page * SIZE]:
                wrong.append((params, page, [e["id"] for e in found["results"]]))
            if not min(page * SIZE + 1, every["total"]) <= found["total"] <= every["total"]:
                wrong.append((params, page, "total", found["total"], every["total"]))
    assert wrong == []


def test_a_flow_page_reads_only_its_executions_and_counts_the_rest_exactly(history, monkeypatch):
    read = []
    convert = executions_search._execution
    monkeypatch.setattr(executions_search, "_execution", lambda item: read.append(1) or convert(item))
    page = search(history, [*FLOW, ("size", "4"), ("page", "3")])
    assert len(page["results"]) == 4 and len(read) == 4
    assert page["total"] == 30


def test_total_past_the_look_ahead_is_a_lower_bound_beyond_the_page(history, monkeypatch):
    monkeypatch.setattr(execution_pages, "TOTAL_LOOKAHEAD", 3)
    first = search(history, [*FLOW, ("size", "4")])
    assert 4 < first["total"] < 30  # more pages are there; how many, the pages further on tell
    last = search(history, [*FLOW, ("size", "4"), ("page", "8")])
    assert last["total"] == 30 and len(last["results"]) == 2


def test_a_filter_on_the_execution_stops_reading_once_the_page_is_full(history, monkeypatch):
    read = []
    convert = executions_search._execution
    monkeypatch.setattr(executions_search, "_execution", lambda item: read.append(item["state"]["S"]) or convert(item))
    page = search(history, [*FLOW, ("state", "FAILED"), ("size", "2")])
    assert len(page["results"]) == 2 and page["total"] > 2
    assert set(read) == {"FAILED"} and len(read) < 10  # not the flow's whole history, nor another state's runs
    read.clear()
    page = search(history, [*FLOW, ("filters[state][NOT_IN]", "FAILED,RUNNING"), ("size", "2")])
    assert {e["state"]["current"] for e in page["results"]} == {"SUCCESS"} and set(read) == {"SUCCESS"}


def test_a_flow_id_holding_the_keys_separator_matches_no_flow(history):
    """A `#` parts a key's namespace, flow id and start: `load#<a start>` must not read as flow `load`'s runs
    started then."""
    flow_id = "load#2024-01-01T00:01:00.000000Z"
    prefix = [("filters[namespace][EQUALS]", "shop.orders"), ("filters[flowId][EQUALS]", flow_id)]
    assert search(history, prefix) == {"results": [], "total": 0}


def test_a_search_bounded_to_nothing_finds_nothing(history):
    empty = [*FLOW, ("filters[startDate][GREATER_THAN]", "2024-02-01T00:00:00Z")]
    empty += [("filters[startDate][LESS_THAN]", "2024-01-15T00:00:00Z")]
    assert search(history, empty) == {"results": [], "total": 0}
