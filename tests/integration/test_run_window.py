"""runWindow end to end: a window closing mid-backfill holds it (slots in the queue are kept, lanes stop, nothing
starts), the backfill says WAITING_FOR_WINDOW and when it opens next, and the watchdog's tick at the opening carries
it on with nothing lost or run twice; a backfill created outside its window waits for it; bad windows are 422s."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from backfill_core.backfills import watchdog
from backfill_core.schedules import run_window
from tests.flows import QUICK, backfill_body

HOURS_48 = ("2024-01-01T00:00:00Z", "2024-01-02T23:00:00Z")
NIGHTS = {"from": "01:00", "to": "06:00", "timezone": "UTC"}


@pytest.fixture
def quick(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


@pytest.fixture
def clock(monkeypatch):
    """The run windows' clock, set by the test."""
    now = {"at": datetime(2030, 1, 1, 2, 0, tzinfo=UTC)}
    monkeypatch.setattr(run_window, "clock", lambda: now["at"])
    return now


def dates_run(stack) -> Counter:
    return Counter(e["trigger"]["variables"]["date"] for e in stack.executions(namespace="tests", flowId="quick"))


def test_a_window_closing_mid_backfill_holds_it_and_its_opening_carries_it_on(quick, clock):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *HOURS_48, concurrency=2, runWindow=NIGHTS))
    assert answer.status == 200, answer.raw
    backfill_id = answer.body["backfill"]["id"]
    assert answer.body["backfill"]["runWindow"] == {**NIGHTS, "days": [
        "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"
    ]}  # fmt: skip
    poller = quick.poller()
    poller.poll_once()
    poller.poll_once()
    ran_open = sum(dates_run(quick).values())
    assert ran_open >= 2

    clock["at"] = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)  # 06:00: closed
    quick.drain()  # the messages already queued come: their slots are kept, none starts
    assert sum(dates_run(quick).values()) == ran_open
    waiting = quick.backfill(backfill_id)
    assert waiting["status"] == "WAITING_FOR_WINDOW" and waiting["nextWindowOpening"] == "2030-01-02T01:00:00Z"
    assert waiting["counts"]["PARKED"] == 2 and quick.queue_depth() == 0
    watchdog.resend_stale_slots()  # a tick while closed changes nothing
    assert quick.queue_depth() == 0 and quick.backfill(backfill_id)["status"] == "WAITING_FOR_WINDOW"

    clock["at"] = datetime(2030, 1, 2, 1, 0, tzinfo=UTC)  # the next night: the tick at the opening releases it
    watchdog.resend_stale_slots()
    assert quick.backfill(backfill_id)["status"] in ("QUEUED", "RUNNING")
    quick.drain()
    done = quick.backfill(backfill_id)
    assert (done["status"], done["succeeded"], done["nextWindowOpening"]) == ("SUCCEEDED", 48, None)
    assert dates_run(quick) == Counter({date: 1 for date in dates_run(quick)}) and len(dates_run(quick)) == 48


def test_a_backfill_created_outside_its_window_sends_nothing_until_it_opens(quick, clock):
    clock["at"] = datetime(2030, 1, 1, 13, 30, tzinfo=UTC)  # Tuesday 14:30 in Paris: just closed
    window = {"from": "13:00", "to": "14:00", "timezone": "Europe/Paris", "days": ["TUESDAY"]}
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *HOURS_48, runWindow=window))
    assert answer.status == 200, answer.raw
    backfill_id = answer.body["backfill"]["id"]
    assert answer.body["backfill"]["status"] == "WAITING_FOR_WINDOW"
    assert answer.body["backfill"]["nextWindowOpening"] == "2030-01-08T13:00:00+01:00"  # in its zone: next Tuesday
    assert quick.queue_depth() == 0
    listed = quick.call("GET", "/api/v1/backfills?status=WAITING_FOR_WINDOW")
    assert [b["id"] for b in listed.body["results"]] == [backfill_id]

    clock["at"] = datetime(2030, 1, 8, 12, 1, tzinfo=UTC)
    watchdog.resend_stale_slots()
    quick.drain()
    assert quick.backfill(backfill_id)["succeeded"] == 48


@pytest.mark.parametrize(
    ("window", "named"),
    [
        ({"from": "1:00", "to": "06:00"}, "backfill.runWindow.from"),
        ({"from": "01:00", "to": "01:00"}, "backfill.runWindow"),
        ({"from": "01:00", "to": "06:00", "days": ["SUNDAYS"]}, "backfill.runWindow.days.0"),
        ({"from": "01:00", "to": "06:00", "timezone": "Europe/Pariss"}, "backfill.runWindow.timezone"),
        ({"from": "01:00", "to": "06:00", "tz": "UTC"}, "backfill.runWindow.tz"),
    ],
)
def test_a_bad_window_is_a_422_naming_its_field_and_starts_nothing(quick, window, named):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *HOURS_48, runWindow=window))
    assert answer.status == 422 and answer.message.startswith(named + ":"), answer.raw
    assert quick.queue_depth() == 0
