"""Our controls beside Kestra's API: concurrency (also changed while running), order, and the
/api/v1/backfills resource with its history."""

import pytest

from backfill_core.storage import triggers_repository
from tests.flows import QUICK, backfill_body, ref

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")  # 11 hourly slots


@pytest.fixture
def quick(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


def in_flight(backfill_id: str) -> int:
    backfill = triggers_repository.backfill_by_id(backfill_id)
    return len(backfill.inflight)


def drain_sampling(stack, backfill_id: str) -> int:
    """Drain the queue one message at a time; returns the most slots ever in flight."""
    poller, most = stack.poller(), 0
    while True:
        most = max(most, in_flight(backfill_id))
        if not poller.poll_once():
            return most


def test_concurrency_dispatches_a_window_and_never_exceeds_it(quick):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, concurrency=3))
    assert answer.status == 200, answer.raw
    backfill = answer.body["backfill"]
    assert backfill["concurrency"] == 3 and backfill["dispatched"] == 3
    assert quick.queue_depth() == 3
    assert drain_sampling(quick, backfill["id"]) == 3
    assert len(quick.executions(namespace="tests", state="SUCCESS")) == 11


@pytest.mark.parametrize(("value", "needle"), [(0, "backfill.concurrency"), (51, "maximum concurrency of 50")])
def test_concurrency_out_of_bounds_is_refused(quick, value, needle):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, concurrency=value))
    assert answer.status == 422 and needle in answer.message
    assert quick.queue_depth() == 0


def test_concurrency_changes_while_running(quick):
    backfill_id = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    assert quick.queue_depth() == 1
    changed = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"concurrency": 4})
    assert changed.status == 200, changed.raw
    assert changed.body["concurrency"] == 4
    assert quick.queue_depth() == 4  # takes effect at once
    quick.poller().poll_once()
    assert quick.call("PATCH", f"/api/v1/main/backfills/{backfill_id}", {"concurrency": 2}).status == 200
    assert drain_sampling(quick, backfill_id) <= 4
    assert len(quick.executions(namespace="tests")) == 11

    finished = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"concurrency": 3})
    assert finished.status == 409 and "SUCCEEDED" in finished.message
    assert quick.call("PATCH", "/api/v1/backfills/nope", {"concurrency": 3}).status == 404
    bad = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"concurrency": 0})
    assert bad.status == 422 and "concurrency" in bad.message
    bad = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"order": "newest_first"})
    assert bad.status == 422


def test_pause_one_backfill_by_id_leaves_the_other_backfill_of_its_trigger_running(quick):
    first = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    later = ("2024-01-02T00:00:00Z", "2024-01-02T10:00:00Z")
    second = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *later)).body["backfill"]["id"]

    paused = quick.call("PATCH", f"/api/v1/backfills/{first}", {"paused": True})
    assert paused.status == 200, paused.raw
    assert paused.body["status"] == "PAUSED"
    quick.drain()
    assert quick.backfill(second)["status"] == "SUCCEEDED"
    held = quick.backfill(first)
    assert held["status"] == "PAUSED" and held["succeeded"] == 0  # its dispatched slot parked, nothing ran

    resumed = quick.call("PATCH", f"/api/v1/backfills/{first}", {"paused": False, "concurrency": 3})
    assert resumed.status == 200 and resumed.body["status"] in ("QUEUED", "RUNNING")
    assert quick.queue_depth() == 3  # the parked slot and the new window, at once
    quick.drain()
    assert quick.backfill(first)["status"] == "SUCCEEDED"
    assert len(quick.executions(namespace="tests", state="SUCCESS")) == 22

    nothing = quick.call("PATCH", f"/api/v1/backfills/{first}", {})
    assert nothing.status == 422 and "concurrency, paused" in nothing.message


def test_newest_first_runs_the_latest_slot_first(quick):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, order="newest_first"))
    assert answer.status == 200
    assert answer.body["backfill"]["currentDate"] == "2024-01-01T10:00:00Z"
    assert answer.body["backfill"]["order"] == "newest_first"
    quick.drain()
    executions = quick.executions(namespace="tests", sort="state.startDate:asc")
    assert [e["trigger"]["variables"]["date"] for e in executions] == [
        f"2024-01-01T{h:02d}:00:00Z" for h in range(10, -1, -1)
    ]


def test_the_backfill_resource_and_its_history(quick):
    first = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    fetched = quick.call("GET", f"/api/v1/backfills/{first}")
    assert fetched.status == 200
    assert (fetched.body["namespace"], fetched.body["flowId"], fetched.body["triggerId"]) == (
        "tests",
        "quick",
        "every_hour",
    )
    assert fetched.body["status"] == "QUEUED" and fetched.body["cron"] == "0 * * * *"  # no slot picked up yet
    assert fetched.body["createdBy"].startswith("anonymous")
    quick.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    assert quick.call("GET", f"/api/v1/backfills/{first}").body["status"] == "PAUSED"
    quick.call("POST", "/api/v1/triggers/backfill/delete", ref("quick"))
    quick.drain()

    second = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    quick.drain()
    listed = quick.call("GET", "/api/v1/backfills?namespace=tests&flowId=quick&triggerId=every_hour").body
    assert listed["total"] == 2
    assert [(b["id"], b["status"]) for b in listed["results"]] == [(second, "SUCCEEDED"), (first, "CANCELLED")]
    only = quick.call("GET", "/api/v1/main/backfills?status=CANCELLED").body
    assert [b["id"] for b in only["results"]] == [first]
    assert quick.call("GET", "/api/v1/backfills?namespace=elsewhere").body["total"] == 0
    missing = quick.call("GET", "/api/v1/backfills/nope")
    assert missing.status == 404 and "nope" in missing.message


def test_cancel_by_id_goes_cancelling_then_cancelled_with_nothing_left_pending(quick):
    import threading

    from tests.flows import SLOW
    from tests.harness import wait_for

    assert quick.call("POST", "/api/v1/flows", SLOW, "application/x-yaml").status == 200
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("slow", *DAY, concurrency=2))
    backfill_id = answer.body["backfill"]["id"]
    worker = threading.Thread(target=quick.poller().poll_once)  # one slot runs (2 s), one waits
    worker.start()
    wait_for(lambda: quick.executions(namespace="tests", state="RUNNING"), seconds=10)
    cancelled = quick.call("POST", f"/api/v1/backfills/{backfill_id}/cancel")
    assert cancelled.status == 200, cancelled.raw
    assert cancelled.body["status"] == "CANCELLING"
    assert cancelled.body["cancelled"] == 10  # the waiting slot and the nine never dispatched
    worker.join()
    quick.drain()
    final = quick.call("GET", f"/api/v1/backfills/{backfill_id}").body
    assert final["status"] == "CANCELLED"
    assert (final["succeeded"], final["cancelled"], final["running"]) == (1, 10, 0)
    assert final["counts"]["PENDING"] == 0 and final["percent"] == 100.0
    assert len(quick.executions(namespace="tests")) == 1
    again = quick.call("POST", f"/api/v1/backfills/{backfill_id}/cancel")
    assert again.status == 409 and "CANCELLED" in again.message
    assert quick.call("POST", "/api/v1/backfills/nope/cancel").status == 404


def test_progress_counts_percent_and_eta(quick):
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY))
    backfill = answer.body["backfill"]
    assert (backfill["total"], backfill["percent"], backfill["etaDate"]) == (11, 0.0, None)
    for _ in range(3):
        quick.poller().poll_once()
    progress = quick.call("GET", f"/api/v1/backfills/{backfill['id']}").body
    assert progress["succeeded"] == 3 and progress["percent"] == round(300 / 11, 1)
    assert progress["slotsPerMinute"] > 0 and progress["etaDate"] is not None
    trigger = quick.call("GET", "/api/v1/triggers/search?namespace=tests").body["results"][0]["triggerContext"]
    assert trigger["backfill"]["percent"] == progress["percent"]
    quick.drain()
    done = quick.call("GET", f"/api/v1/backfills/{backfill['id']}").body
    assert (done["percent"], done["etaDate"], done["status"]) == (100.0, None, "SUCCEEDED")
