"""The dry run's forecast: unknown (and said so) for a flow that never ran, then timed by the trigger's last
backfill; slowed by a rate limit and stretched by a run window, each said; and its cost lines, each with its
arithmetic, adding up to its total."""

from datetime import UTC, datetime

import pytest

from backfill_core.backfills import forecast as forecast_module
from tests.flows import QUICK, backfill_body

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T23:00:00Z")  # 24 hourly slots
WEEK = ("2024-02-01T00:00:00Z", "2024-02-07T23:00:00Z")  # 168 hourly slots


@pytest.fixture
def quick(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


def dry_run(stack, **backfill) -> dict:
    body = backfill_body("quick", *WEEK, **backfill)
    answer = stack.call("POST", "/api/v1/backfills/dry-run?size=1", body)
    assert answer.status == 200, answer.raw
    return answer.body["forecast"]


def test_a_flow_that_never_ran_has_an_unknown_time_and_a_cost_that_shows_its_arithmetic(quick):
    unknown = dry_run(quick)
    assert (unknown["seconds"], unknown["duration"], unknown["endDate"]) == (None, None, None)
    assert unknown["basis"].startswith("unknown: nothing of this flow has finished")
    lines = {line["item"]: line for line in unknown["cost"]}
    writes = lines["DynamoDB writes"]
    assert writes["quantity"] == pytest.approx(168 * 7.2)
    assert (
        writes["arithmetic"] == "168 slots x 7.2 units = 1,209.6 write request units x $0.625 per million = $0.000756"
    )
    assert lines["SQS"]["arithmetic"].startswith("168 slots x 3 requests = 504.0 requests x $0.4 per million")
    assert "the flow's unknown" in next(item for item in lines if item.startswith("Lambda duration"))
    assert unknown["costUsd"] == pytest.approx(sum(line["usd"] for line in unknown["cost"]))
    assert "us-east-1" in unknown["prices"]


def test_the_trigger_s_last_backfill_times_the_next_one_and_a_rate_limit_and_a_window_say_what_they_do(
    quick, monkeypatch
):
    ran = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, concurrency=2))
    quick.drain()
    done = quick.backfill(ran.body["backfill"]["id"])
    assert done["status"] == "SUCCEEDED"

    timed = dry_run(quick, concurrency=4)
    assert timed["basis"].startswith(f"this trigger's last backfill ({done['id']}) ran 24 slots in ")
    assert timed["slotSeconds"] > 0
    assert timed["seconds"] == pytest.approx(timed["slotSeconds"] * 42)  # 168 slots, 4 lanes: 42 each
    assert timed["rateLimitEffect"] is None and timed["windowEffect"] is None

    created = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *WEEK, concurrency=4)).body["backfill"]
    assert created["forecastSeconds"] == pytest.approx(timed["seconds"], rel=0.01)  # kept to read progress against
    assert (created["forecastBasis"], created["forecastCostUsd"]) == (timed["basis"], pytest.approx(timed["costUsd"]))
    quick.call("POST", f"/api/v1/backfills/{created['id']}/cancel")

    limited = dry_run(quick, concurrency=4, maxSlotsPerMinute=6)
    assert limited["rateLimitEffect"].startswith("the rate limit of 6 a minute sets the pace")
    assert limited["seconds"] == pytest.approx(167 * 10 + limited["slotSeconds"])

    monkeypatch.setattr(forecast_module, "_pace_of", lambda key: (600.0, "ten minutes a slot"))  # 168 slots: 28 h
    now = datetime.now(UTC)
    opens = f"{(now.hour + 1) % 24:02d}:00"
    windowed = dry_run(quick, runWindow={"from": opens, "to": f"{(now.hour + 13) % 24:02d}:00", "timezone": "UTC"})
    assert windowed["basis"] == "ten minutes a slot"
    assert windowed["windowEffect"].startswith(f"slots start only in its run window ({opens} to ")
    # 28 h of work in 12-hour nights: the third night, about 2 days and 4 hours from the first opening
    took = windowed["seconds"] / 3600
    assert 28 + 24 <= took <= 28 + 24 + 1 + 12, windowed
