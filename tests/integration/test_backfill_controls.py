"""Reprocess policy, per-slot status, failure policy with retry-failed, several backfills per trigger, and
cancel with kill: each through the API handler, with the executor draining the queue against moto."""

import threading
import time

from tests.flows import QUICK, backfill_body, ref, sleeper
from tests.harness import wait_for

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")  # 11 hourly slots: 5 odd hours
EVEN_HOURS = [f"2024-01-01T{h:02d}:00:00Z" for h in range(0, 11, 2)]
ODD_HOURS = [f"2024-01-01T{h:02d}:00:00Z" for h in range(1, 11, 2)]


def slots(stack, backfill_id: str, **params) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in {"size": 1000, **params}.items())
    answer = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?{query}")
    assert answer.status == 200, answer.raw
    return answer.body["results"]


def dates_in(slot_list: list[dict], state: str) -> list[str]:
    return [s["date"] for s in slot_list if s["state"] == state]


def test_reprocess_failed_runs_only_the_slots_that_did_not_succeed(flaky_flow):
    stack = flaky_flow
    first = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY)).body["backfill"]["id"]
    stack.drain()
    assert stack.backfill(first)["status"] == "FAILED"  # every slot ran, the odd ones failed

    body = backfill_body("flaky", *DAY, reprocess="failed")
    dry = stack.call("POST", "/api/v1/backfills/dry-run", body).body
    assert (dry["total"], dry["run"], dry["skipped"]) == (11, 5, 6)
    assert dry["firstPage"] == ODD_HOURS
    assert [s["date"] for s in dry["skippedPage"]] == EVEN_HOURS
    assert all(s["reason"].startswith("ALREADY_SUCCEEDED") for s in dry["skippedPage"])

    second = stack.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    stack.drain()
    ran = [e for e in stack.executions(namespace="tests") if e.get("backfillId") == second]
    assert sorted(e["trigger"]["variables"]["date"] for e in ran) == ODD_HOURS
    listed = slots(stack, second)
    assert dates_in(listed, "SKIPPED") == EVEN_HOURS
    skipped = [s for s in listed if s["state"] == "SKIPPED"]
    assert all(s["reason"].startswith("ALREADY_SUCCEEDED") and s["executionId"] for s in skipped)
    # The execution a skip names is the one that succeeded before.
    assert stack.call("GET", f"/api/v1/executions/{skipped[0]['executionId']}").body["state"]["current"] == "SUCCESS"
    done = stack.backfill(second)
    assert (done["skipped"], done["failed"], done["counts"]["SKIPPED"], done["percent"]) == (6, 5, 6, 100.0)


def test_reprocess_missing_runs_only_slots_with_no_execution(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z"))
    stack.drain()
    wider = backfill_body("quick", *DAY, reprocess="missing")
    dry = stack.call("POST", "/api/v1/backfills/dry-run", wider).body
    assert (dry["run"], dry["skipped"]) == (5, 6)
    assert dry["skippedPage"][0]["reason"].startswith("ALREADY_EXECUTED")
    second = stack.call("PUT", "/api/v1/triggers", wider).body["backfill"]["id"]
    stack.drain()
    assert dates_in(slots(stack, second), "SUCCEEDED") == [f"2024-01-01T{h:02d}:00:00Z" for h in range(6, 11)]
    assert len(stack.executions(namespace="tests")) == 11  # no slot ran twice


def test_a_bad_reprocess_policy_is_refused_naming_the_field(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, reprocess="some"))
    assert answer.status == 422 and "backfill.reprocess" in answer.message
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, maxFailures=0))
    assert answer.status == 422 and "backfill.maxFailures" in answer.message
    assert stack.queue_depth() == 0


def test_slots_page_through_every_state(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY, concurrency=2)).body["backfill"][
        "id"
    ]
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["DISPATCHED"] * 2 + ["PENDING"] * 9
    stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    stack.drain()  # the messages of a paused backfill park their slots
    assert [s["state"] for s in slots(stack, backfill_id)] == ["PARKED"] * 2 + ["PENDING"] * 9
    stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick"))
    stack.drain()
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["SUCCEEDED"] * 11
    execution = stack.call("GET", f"/api/v1/executions/{listed[0]['executionId']}").body
    assert execution["trigger"]["variables"]["date"] == listed[0]["date"] == "2024-01-01T00:00:00Z"

    page2 = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?page=2&size=4").body
    assert page2["total"] == 11 and [s["date"] for s in page2["results"]][0] == "2024-01-01T04:00:00Z"
    assert stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?size=0").status == 422
    assert stack.call("GET", "/api/v1/backfills/nope/slots").status == 404

    next_day = backfill_body("quick", "2024-01-02T00:00:00Z", "2024-01-02T10:00:00Z", concurrency=2)
    second = stack.call("PUT", "/api/v1/triggers", next_day).body["backfill"]["id"]
    stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    stack.drain()
    cancelled = stack.call("POST", f"/api/v1/backfills/{second}/cancel")
    assert cancelled.body["status"] == "CANCELLED"  # nothing was running
    assert [s["state"] for s in slots(stack, second)] == ["CANCELLED"] * 11


def test_max_failures_pauses_the_backfill_and_retry_failed_reruns_only_the_failed(flaky_flow, marker):
    stack = flaky_flow
    answer = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY, maxFailures=2))
    backfill_id = answer.body["backfill"]["id"]
    assert answer.body["backfill"]["maxFailures"] == 2
    stack.drain()
    paused = stack.backfill(backfill_id)
    assert paused["status"] == "PAUSED" and paused["failed"] == 2
    assert paused["pauseReason"].startswith("maxFailures: 2 slots failed")
    assert paused["succeeded"] == 2  # 00:00 and 02:00 ran, 01:00 and 03:00 failed; nothing after

    marker.touch()  # the cause is fixed
    retried = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert retried.status == 200, retried.raw
    assert retried.body["retried"] == 2 and retried.body["backfill"]["status"] != "PAUSED"
    stack.drain()
    done = stack.backfill(backfill_id)
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 11, 0)
    listed = slots(stack, backfill_id)
    assert dates_in(listed, "SUCCEEDED") == [f"2024-01-01T{h:02d}:00:00Z" for h in range(11)]
    # The retried slots ran as new executions; the failed ones are kept.
    executions = stack.executions(namespace="tests")
    assert len(executions) == 13 and len([e for e in executions if e["state"]["current"] == "FAILED"]) == 2
    nothing = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert nothing.status == 200 and nothing.body["retried"] == 0


def test_retry_failed_of_an_ended_backfill_runs_it_again(flaky_flow, marker):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY)).body["backfill"]["id"]
    stack.drain()
    assert stack.backfill(backfill_id)["status"] == "FAILED"
    marker.touch()
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 5
    stack.drain()
    assert stack.backfill(backfill_id)["status"] == "SUCCEEDED"
    assert stack.call("POST", "/api/v1/backfills/nope/retry-failed").status == 404


def test_two_backfills_of_one_trigger_run_at_once_unless_their_ranges_overlap(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    morning = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    evening = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T12:00:00Z", "2024-01-01T20:00:00Z")
    )
    assert evening.status == 200, evening.raw
    # Kestra's trigger JSON shows the newest backfill that still runs.
    assert evening.body["backfill"]["start"] == "2024-01-01T12:00:00Z"
    overlapping = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z")
    )
    assert overlapping.status == 409 and morning in overlapping.message and "overlaps" in overlapping.message
    stack.drain()
    assert len(stack.executions(namespace="tests")) == 11 + 9
    listed = stack.call("GET", "/api/v1/backfills?namespace=tests&status=SUCCEEDED").body
    assert listed["total"] == 2
    # Once they ended, the same range may be backfilled again.
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).status == 200


def test_pause_by_trigger_holds_every_running_backfill_of_it(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY))
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-02T00:00:00Z", "2024-01-02T03:00:00Z"))
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
    stack.drain()
    assert stack.executions(namespace="tests") == []
    statuses = [b["status"] for b in stack.call("GET", "/api/v1/backfills?namespace=tests").body["results"]]
    assert statuses == ["PAUSED", "PAUSED"]
    assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
    stack.drain()
    assert len(stack.executions(namespace="tests")) == 15


def test_cancel_with_kill_kills_the_running_execution(stack):
    assert stack.call("POST", "/api/v1/flows", sleeper(60), "application/x-yaml").status == 200
    body = backfill_body("sleeper", *DAY)
    backfill_id = stack.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    worker = threading.Thread(target=stack.poller().poll_once)
    started = time.monotonic()
    worker.start()
    wait_for(lambda: stack.executions(namespace="tests", state="RUNNING"))
    cancelled = stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel", {"kill": True})
    assert cancelled.status == 200 and cancelled.body["status"] == "CANCELLING"
    worker.join(timeout=30)
    assert not worker.is_alive() and time.monotonic() - started < 30  # not the task's 60 s
    final = stack.backfill(backfill_id)
    assert (final["status"], final["cancelled"], final["succeeded"], final["failed"]) == ("CANCELLED", 11, 0, 0)
    [killed] = stack.executions(namespace="tests")
    assert killed["state"]["current"] == "KILLED"
    assert slots(stack, backfill_id)[0] == {
        "date": "2024-01-01T00:00:00Z",
        "state": "CANCELLED",
        "executionId": killed["id"],
        "reason": None,
    }
    bad = stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel", {"kill": "yes please"})
    assert bad.status == 422 and "kill" in bad.message


def test_kestra_delete_with_kill_and_kestra_execution_kill(stack):
    assert stack.call("POST", "/api/v1/flows", sleeper(60), "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("sleeper", *DAY))
    worker = threading.Thread(target=stack.poller().poll_once)
    worker.start()
    wait_for(lambda: stack.executions(namespace="tests", state="RUNNING"))
    deleted = stack.call("POST", "/api/v1/triggers/backfill/delete", {**ref("sleeper"), "kill": True})
    assert deleted.status == 200 and deleted.body.get("backfill") is None
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert stack.executions(namespace="tests")[0]["state"]["current"] == "KILLED"

    second = stack.call("PUT", "/api/v1/triggers", backfill_body("sleeper", *DAY))
    assert second.status == 200
    worker = threading.Thread(target=stack.poller().poll_once)
    worker.start()
    wait_for(lambda: stack.executions(namespace="tests", state="RUNNING"))
    running = stack.executions(namespace="tests", state="RUNNING")[0]["id"]
    assert stack.call("DELETE", f"/api/v1/executions/{running}/kill").status == 202
    worker.join(timeout=30)
    assert stack.call("GET", f"/api/v1/executions/{running}").body["state"]["current"] == "KILLED"
    assert stack.backfill(second.body["backfill"]["id"])["counts"]["CANCELLED"] == 1
    assert stack.call("DELETE", "/api/v1/executions/nope/kill").status == 404


def test_a_slots_page_past_the_end_is_empty(stack):
    """Pages are counted to, not stepped to, so no depth is refused (tests/integration/test_dates_and_slot_pages.py
    serves one 300,000 slots deep); past the last slot a page is empty."""
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).body["backfill"]["id"]
    deep = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?page=1001&size=100").body
    assert (deep["results"], deep["total"]) == ([], 11)
    past_the_end = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?page=3&size=10").body
    assert (past_the_end["results"], past_the_end["total"]) == ([], 11)


def every_page(stack, backfill_id: str, states: tuple[str, ...], size: int) -> tuple[list[dict], set[int]]:
    """Every page of the slots in `states`, and the totals the pages answered."""
    query = "&".join(f"state={state}" for state in states)
    found, totals, page = [], set(), 1
    while True:
        answer = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?{query}&size={size}&page={page}")
        assert answer.status == 200, answer.raw
        totals.add(answer.body["total"])
        if not answer.body["results"]:
            return found, totals
        found += answer.body["results"]
        page += 1


def assert_filtered_pages_match(stack, backfill_id: str) -> set[str]:
    everything = slots(stack, backfill_id)
    shown = {s["state"] for s in everything}
    for states in [(state,) for state in shown] + [("PENDING", "SUCCEEDED"), ("FAILED", "CANCELLED", "PARKED")]:
        wanted = [s for s in everything if s["state"] in states]
        found, totals = every_page(stack, backfill_id, states, size=3)
        assert found == wanted and totals == {len(wanted)}, (states, found, totals)
    return shown


def test_slots_filtered_by_state_are_the_slots_in_those_states_page_by_page(flaky_flow, monkeypatch):
    """Each state's pages and total, against the whole list filtered: while a backfill runs with slots done, failed,
    queued for a retry, parked and never reached; then once it is cancelled. The slots the cursor passed are read a
    chunk at a time (2 here), the others found by their position."""
    from backfill_core.backfills import queries

    monkeypatch.setattr(queries, "STATE_SCAN_CHUNK", 2)
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY, concurrency=2)).body["backfill"]
    backfill_id = backfill_id["id"]
    assert stack.poller().poll_once() == 2  # 00:00 succeeds, 01:00 fails; 02:00 and 03:00 are sent
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 1
    stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("flaky"))
    stack.drain()  # 02:00 and 03:00 park
    assert assert_filtered_pages_match(stack, backfill_id) == {"SUCCEEDED", "PENDING", "PARKED"}
    assert [s["date"] for s in slots(stack, backfill_id, state="PENDING")][:2] == ODD_HOURS[:1] + [EVEN_HOURS[2]]

    stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("flaky"))
    assert stack.poller().poll_once() == 2
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel").status == 200
    stack.drain()
    assert assert_filtered_pages_match(stack, backfill_id) >= {"SUCCEEDED", "FAILED", "CANCELLED"}

    monkeypatch.setattr(queries, "STATE_SCAN_LIMIT", 2)
    refused = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?state=CANCELLED&size=1&page=4")
    assert refused.status == 422 and refused.message.startswith("state: the page's slots lie past the first 2 slots")
    assert stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots?state=DONE").status == 422


def test_retry_failed_reads_the_slots_only_up_to_its_batch(flaky_flow, marker, monkeypatch):
    """Was: each call read every execution of the backfill's range, then took its batch (1,000 failed slots):
    a retry of a long backfill read its whole history. Now it reads in slot order until its batch is found."""
    from backfill_core.backfills import commands
    from backfill_core.storage import executions_repository

    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY)).body["backfill"]["id"]
    stack.drain()
    assert stack.backfill(backfill_id)["failed"] == 5  # the odd hours
    marker.touch()
    monkeypatch.setattr(commands, "RETRY_BATCH", 2)
    real_read = executions_repository.slot_executions
    read: list[str] = []

    def counted(*args, **kwargs):
        for slot, runs in real_read(*args, **kwargs):
            read.append(slot)
            yield slot, runs

    monkeypatch.setattr(executions_repository, "slot_executions", counted)
    for retried_hours, slots_read in (([1, 3], 4), ([5, 7], 8), ([9], 11)):
        read.clear()
        answer = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
        assert answer.status == 200 and answer.body["retried"] == len(retried_hours), answer.raw
        assert len(read) == slots_read  # up to the batch's last failed slot, not the whole range
        stack.drain()
        ran = [s["date"] for s in slots(stack, backfill_id) if s["state"] == "SUCCEEDED"]
        assert all(f"2024-01-01T{h:02d}:00:00Z" in ran for h in retried_hours)
    done = stack.backfill(backfill_id)
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 11, 0)
