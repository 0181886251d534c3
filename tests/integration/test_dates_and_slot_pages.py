"""Backfill dates outside the supported range (1900-01-01T00:00:00Z up to 2200) are a 422 naming the field,
not a crash; a backfill at the range's first instant runs, with its neighbours and its slots page right;
a slots page deep in a long backfill is served."""

from datetime import UTC, datetime, timedelta

import pytest

from backfill_core.schedules.kestra_time import format_date
from tests.integration.test_hostile_inputs import REF, flow_yaml

OUTSIDE = [
    ("start", "0001-01-01T00:00:00Z"),  # was an OverflowError: a 5xx, the connection closed locally
    ("start", "0001-01-01T03:00:00+05:00"),  # year 0 in UTC
    ("start", "1899-12-31T23:59:59Z"),
    ("end", "0001-01-02T00:00:00Z"),
    ("end", "9999-12-31T23:59:59-14:00"),  # year 10000 in UTC
    ("end", "2200-01-01T00:00:00Z"),
]


def contents(stack) -> tuple[int, int, int]:
    return stack.item_count("TriggersTable"), stack.item_count("ExecutionsTable"), stack.queue_depth()


@pytest.mark.parametrize("path", ["/api/v1/triggers", "/api/v1/backfills/dry-run"])
@pytest.mark.parametrize(("field", "value"), OUTSIDE, ids=[f"{f} {v}" for f, v in OUTSIDE])
def test_a_date_outside_the_supported_range_is_a_422_naming_it(stack, path, field, value):
    backfill = {"start": "1900-01-01T00:00:00Z", "end": "1900-01-02T00:00:00Z", field: value}
    before = contents(stack)
    answer = stack.call("PUT" if path.endswith("triggers") else "POST", path, {**REF, "backfill": backfill})
    assert answer.status == 422, answer.raw[:500]
    assert answer.message.startswith(f"backfill.{field}: "), answer.message
    assert "1900-01-01T00:00:00Z" in answer.message and "2200-01-01T00:00:00Z" in answer.message
    assert contents(stack) == before


def test_a_backfill_from_the_first_supported_instant_runs_each_slot_once(stack):
    """Slots from 1900-01-01T00:00:00Z: the first one's `trigger.previous` lies before the range (1899),
    and every slot shows SUCCEEDED on the slots page, in order."""
    source = flow_yaml(cron="0 0 * * *", flow_id="daily")
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    body = {**REF, "flowId": "daily", "backfill": {"start": "1900-01-01T00:00:00Z", "end": "1900-01-03T00:00:00Z"}}
    dry = stack.call("POST", "/api/v1/backfills/dry-run", body)
    assert dry.status == 200, dry.raw[:500]
    assert dry.body["total"] == 3
    created = stack.call("PUT", "/api/v1/triggers", body)
    assert created.status == 200, created.raw[:500]
    stack.drain()
    executions = stack.executions(namespace="dev", flowId="daily")
    variables = sorted((e["trigger"]["variables"] for e in executions), key=lambda v: v["date"])
    assert [v["date"] for v in variables] == ["1900-01-01T00:00:00Z", "1900-01-02T00:00:00Z", "1900-01-03T00:00:00Z"]
    assert variables[0]["previous"] == "1899-12-31T00:00:00Z"
    backfill_id = created.body["backfill"]["id"]
    page = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots")
    assert page.status == 200, page.raw[:500]
    assert [(s["date"], s["state"]) for s in page.body["results"]] == [(v["date"], "SUCCEEDED") for v in variables]
    assert page.body["total"] == 3


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_a_slots_page_past_the_first_100000_slots_is_served(stack, order):
    """Pages were stepped from the range's start and refused past 100,000 slots (a 422); the page's first
    slot is now counted to, so a page half a million slots deep is as cheap as the first."""
    source = flow_yaml(cron="* * * * *", flow_id="minutely")
    assert stack.call("POST", "/api/v1/flows", source, "application/x-yaml").status == 200
    start, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    backfill = {"start": format_date(start), "end": format_date(end), "order": order}
    created = stack.call("PUT", "/api/v1/triggers", {**REF, "flowId": "minutely", "backfill": backfill})
    assert created.status == 200, created.raw[:500]
    total = 365 * 1440 + 1
    page = stack.call("GET", f"/api/v1/backfills/{created.body['backfill']['id']}/slots?page=3001&size=100")
    assert page.status == 200, page.raw[:500]
    assert page.body["total"] == total
    skip = 3000 * 100
    if order == "oldest_first":
        expected = [start + timedelta(minutes=skip + n) for n in range(100)]
    else:
        expected = [end - timedelta(minutes=skip + n) for n in range(100)]
    assert [s["date"] for s in page.body["results"]] == [format_date(d) for d in expected]
    assert all(s["state"] in ("PENDING", "DISPATCHED") for s in page.body["results"][1:])
