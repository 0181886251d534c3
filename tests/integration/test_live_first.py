"""Live runs first: when the live schedule sends a slot of a trigger whose 10,000-slot backfill is running, the
backfill steps aside (its queued slots are kept, its lanes stop) until the live slot has started, so the live run
meets the first free executor; then the backfill carries on. With `liveFirst: false` it competes, and its queued
slots run first."""

import time
from datetime import UTC, datetime

import pytest

from backfill_core.schedules.kestra_time import parse_instant
from tests.harness import run_kind
from tests.integration.test_live_schedule import every_minute, register, tick

TEN_THOUSAND_MINUTES = {"start": "2020-01-01T00:00:00Z", "end": "2020-01-07T22:39:00Z"}


def started(execution: dict) -> datetime:
    return parse_instant(execution["state"]["startDate"])


@pytest.mark.parametrize("live_first", [True, False])
def test_a_live_slot_starts_before_the_slots_a_large_backfill_had_queued(stack, live_first):
    due = register(stack, every_minute())
    body = {
        "namespace": "live",
        "flowId": "minutely",
        "triggerId": "cron",
        "backfill": {**TEN_THOUSAND_MINUTES, "concurrency": 3, "liveFirst": live_first},
    }
    created = stack.call("PUT", "/api/v1/triggers", body)
    assert created.status == 200, created.raw
    backfill = created.body["backfill"]
    assert (backfill["total"], backfill["liveFirst"]) == (10_000, live_first)
    assert stack.queue_depth() == 3  # its first window, queued before the live slot

    asked = time.time()
    tick(stack, due)
    assert stack.backfill(backfill["id"])["yieldingToLive"] is live_first
    stack.poller().poll_once()  # one batch: the three backfill slots' messages, then the live slot's

    executions = stack.executions(namespace="live", flowId="minutely")
    (live,) = [e for e in executions if run_kind(e) == "schedule"]
    ran_before = [e for e in executions if run_kind(e) == "backfill" and started(e) < started(live)]
    if live_first:
        assert ran_before == []  # the backfill's queued slots were kept for after it
        assert started(live).timestamp() - asked < 5  # on time: nothing of the backfill ran first
        after = stack.backfill(backfill["id"])
        assert after["yieldingToLive"] is False and after["status"] in ("RUNNING", "QUEUED")
        assert after["counts"]["DISPATCHED"] == 3 and stack.queue_depth() == 3  # carried on: sent again
    else:
        assert len(ran_before) == 3
    stack.call("POST", f"/api/v1/backfills/{backfill['id']}/cancel")
    assert stack.backfill(backfill["id"])["status"] in ("CANCELLING", "CANCELLED")
    assert started(live) >= datetime.fromtimestamp(asked, UTC)
