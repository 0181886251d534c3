"""Reprocess policy, per-slot status, maxFailures with retry-failed, several backfills per trigger and cancel
with kill, over HTTP against the local stack, with requests and curl."""

import json
import subprocess
import time

import requests

NAMESPACE = "e2e.controls"
DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")  # 11 hourly slots: 5 odd hours
HOURS = [f"2024-01-01T{h:02d}:00:00Z" for h in range(11)]
EVEN_HOURS, ODD_HOURS = HOURS[::2], HOURS[1::2]


def flow(flow_id: str, commands: list[str]) -> str:
    lines = "\n".join(f"      - {command}" for command in commands)
    return f"""
id: {flow_id}
namespace: {NAMESPACE}
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
{lines}
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def flaky(flow_id: str, marker) -> str:
    """Odd-hour slots fail until the file `marker` exists."""
    return flow(
        flow_id,
        [f"""test -e '{marker}' || case "{{{{ trigger.date }}}}" in *T0[13579]:* | *T1[13579]:*) exit 3;; esac"""],
    )


def sleeper(flow_id: str, seconds: int) -> str:
    return flow(flow_id, [f"sleep {seconds}"])


def register(stack, source: str) -> None:
    response = requests.post(
        f"{stack.url}/api/v1/flows", data=source, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert response.status_code == 200, response.text


def ref(flow_id: str) -> dict:
    return {"namespace": NAMESPACE, "flowId": flow_id, "triggerId": "hourly"}


def body(flow_id: str, start: str, end: str, **backfill) -> dict:
    return {**ref(flow_id), "backfill": {"start": start, "end": end, **backfill}}


def create(stack, flow_id: str, start: str, end: str, **backfill) -> dict:
    answer = requests.put(f"{stack.url}/api/v1/triggers", json=body(flow_id, start, end, **backfill), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["backfill"]


def curl(*args: str) -> tuple[int, dict | None]:
    """curl's status code and JSON answer (None when the body is empty)."""
    done = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30, check=True
    )
    text, status = done.stdout.rsplit("\n", 1)
    return int(status), json.loads(text) if text else None


def curl_json(method: str, url: str, payload: dict) -> tuple[int, dict | None]:
    return curl("-X", method, url, "-H", "Content-Type: application/json", "-d", json.dumps(payload))


def backfill_of(stack, backfill_id: str) -> dict:
    return stack.get(f"/api/v1/backfills/{backfill_id}")


def wait_status(stack, backfill_id: str, status: str, timeout: float = 30) -> dict:
    return stack.wait_for(
        lambda: (b := backfill_of(stack, backfill_id))["status"] == status and b,
        timeout=timeout,
        what=f"backfill {backfill_id} to be {status}",
    )


def slots(stack, backfill_id: str) -> list[dict]:
    return stack.get(f"/api/v1/backfills/{backfill_id}/slots", size=1000)["results"]


def states(stack, backfill_id: str) -> list[str]:
    return [s["state"] for s in slots(stack, backfill_id)]


def counted(backfill: dict) -> dict:
    """The backfill's non-zero counts by state, which add up to its total."""
    assert sum(backfill["counts"].values()) == backfill["total"], backfill
    return {state: n for state, n in backfill["counts"].items() if n}


def test_reprocess_failed_runs_only_the_slots_that_did_not_succeed(local_stack, readable_tmp):
    stack = local_stack
    marker = readable_tmp / "fixed"
    register(stack, flaky("reprocessed", marker))
    first = create(stack, "reprocessed", *DAY, concurrency=4)
    assert first["reprocess"] == "all"
    ended = wait_status(stack, first["id"], "FAILED")  # every slot ran; the odd hours failed
    assert ended["createdBy"].startswith("anonymous")  # the caller; a signed caller's ARN on AWS
    assert counted(ended) == {"SUCCEEDED": 6, "FAILED": 5}

    again = body("reprocessed", *DAY, reprocess="failed", concurrency=4)
    status, dry = curl_json("POST", f"{stack.url}/api/v1/backfills/dry-run", again)
    assert status == 200, dry
    assert (dry["total"], dry["run"], dry["skipped"], dry["reprocess"]) == (11, 5, 6, "failed")
    assert dry["firstPage"] == dry["lastPage"] == ODD_HOURS
    assert [s["date"] for s in dry["skippedPage"]] == EVEN_HOURS
    assert all(s["reason"].startswith("ALREADY_SUCCEEDED") and s["executionId"] for s in dry["skippedPage"])

    marker.touch()  # the cause is fixed: the odd hours succeed now
    second = requests.put(f"{stack.url}/api/v1/triggers", json=again, timeout=10).json()["backfill"]
    done = wait_status(stack, second["id"], "SUCCEEDED")
    assert (done["reprocess"], done["skipped"], done["succeeded"], done["failed"]) == ("failed", 6, 5, 0)
    assert counted(done) == {"SUCCEEDED": 5, "SKIPPED": 6}
    ran = [e for e in stack.executions(namespace=NAMESPACE, flowId="reprocessed") if e["backfillId"] == second["id"]]
    assert sorted(e["trigger"]["variables"]["date"] for e in ran) == ODD_HOURS

    status, listed = curl(f"{stack.url}/api/v1/backfills/{second['id']}/slots?page=1&size=20")
    assert status == 200 and listed["total"] == 11
    assert [s["date"] for s in listed["results"]] == HOURS
    skipped = [s for s in listed["results"] if s["state"] == "SKIPPED"]
    assert [s["date"] for s in skipped] == EVEN_HOURS
    assert all(s["reason"].startswith("ALREADY_SUCCEEDED") for s in skipped)
    # A skip names the execution that succeeded before, in the first backfill.
    assert {s["executionId"] for s in skipped} == {s["executionId"] for s in dry["skippedPage"]}
    earlier = stack.get(f"/api/v1/executions/{skipped[0]['executionId']}")
    assert (earlier["state"]["current"], earlier["backfillId"]) == ("SUCCESS", first["id"])
    succeeded = [s for s in listed["results"] if s["state"] == "SUCCEEDED"]
    assert [s["date"] for s in succeeded] == ODD_HOURS and {s["executionId"] for s in succeeded} == {
        e["id"] for e in ran
    }


def test_slots_show_where_each_slot_is(local_stack):
    stack = local_stack
    register(stack, sleeper("napper", 2))
    start, end = "2024-01-02T00:00:00Z", "2024-01-02T05:00:00Z"
    created = create(stack, "napper", start, end, concurrency=2)
    assert created["status"] == "QUEUED"  # no executor has picked up a slot yet
    backfill_id = created["id"]
    stack.wait_for(lambda: states(stack, backfill_id) == ["RUNNING"] * 2 + ["PENDING"] * 4, 20, "two running slots")
    listed = slots(stack, backfill_id)
    assert all(s["executionId"] for s in listed[:2]) and not any(s["executionId"] for s in listed[2:])
    assert requests.put(f"{stack.url}/api/v1/triggers/backfill/pause", json=ref("napper"), timeout=10).ok

    def settled():
        b = backfill_of(stack, backfill_id)
        return not b["counts"]["RUNNING"] and not b["counts"]["DISPATCHED"] and b

    paused = stack.wait_for(settled, 20, "the running slots to end")
    assert paused["status"] == "PAUSED" and paused["succeeded"] >= 2
    # The slot listing agrees with the counts: the running slots ended, nothing new started.
    seen = states(stack, backfill_id)
    assert {state: seen.count(state) for state in set(seen)} == counted(paused)
    assert set(seen) <= {"SUCCEEDED", "PARKED", "PENDING"}

    status, _ = curl_json("PUT", f"{stack.url}/api/v1/triggers/backfill/unpause", ref("napper"))
    assert status == 200
    wait_status(stack, backfill_id, "SUCCEEDED")
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["SUCCEEDED"] * 6
    executions = {e["id"]: e for e in stack.executions(namespace=NAMESPACE, flowId="napper")}
    assert [executions[s["executionId"]]["trigger"]["variables"]["date"] for s in listed] == [s["date"] for s in listed]
    page = stack.get(f"/api/v1/backfills/{backfill_id}/slots", page=2, size=4)
    assert page["total"] == 6 and [s["date"] for s in page["results"]] == [
        "2024-01-02T04:00:00Z",
        "2024-01-02T05:00:00Z",
    ]
    status, refused = curl(f"{stack.url}/api/v1/backfills/{backfill_id}/slots?size=0")
    assert status == 422 and "size" in refused["message"]
    assert requests.get(f"{stack.url}/api/v1/backfills/nope/slots", timeout=10).status_code == 404


def test_max_failures_pauses_and_retry_failed_reruns_only_the_failed(local_stack, readable_tmp):
    stack = local_stack
    marker = readable_tmp / "fixed"
    register(stack, flaky("capped", marker))
    status, trigger = curl_json("PUT", f"{stack.url}/api/v1/triggers", body("capped", *DAY, maxFailures=2))
    assert status == 200, trigger
    backfill_id = trigger["backfill"]["id"]
    assert trigger["backfill"]["maxFailures"] == 2
    paused = wait_status(stack, backfill_id, "PAUSED")
    assert paused["pauseReason"].startswith("maxFailures: 2 slots failed")
    # 00:00 and 02:00 succeeded, 01:00 and 03:00 failed, and nothing started after.
    assert counted(paused) == {"SUCCEEDED": 2, "FAILED": 2, "PENDING": 7}
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["SUCCEEDED", "FAILED"] * 2 + ["PENDING"] * 7
    failed_ids = [s["executionId"] for s in listed if s["state"] == "FAILED"]

    marker.touch()  # the cause is fixed
    status, retried = curl("-X", "POST", f"{stack.url}/api/v1/backfills/{backfill_id}/retry-failed")
    assert status == 200, retried
    assert retried["retried"] == 2 and retried["backfill"]["status"] == "RUNNING"
    assert retried["backfill"]["pauseReason"] is None
    done = wait_status(stack, backfill_id, "SUCCEEDED")
    assert (done["succeeded"], done["failed"]) == (11, 0)
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["SUCCEEDED"] * 11
    # The failed slots ran again as new executions; the failed ones are kept.
    assert not {listed[1]["executionId"], listed[3]["executionId"]} & set(failed_ids)
    executions = stack.executions(namespace=NAMESPACE, flowId="capped")
    assert len(executions) == 13
    assert sorted(e["id"] for e in executions if e["state"]["current"] == "FAILED") == sorted(failed_ids)
    again = requests.post(f"{stack.url}/api/v1/backfills/{backfill_id}/retry-failed", timeout=10)
    assert again.status_code == 200 and again.json()["retried"] == 0


def test_retry_failed_runs_an_ended_backfill_again(local_stack, readable_tmp):
    stack = local_stack
    marker = readable_tmp / "fixed"
    register(stack, flaky("ended", marker))
    backfill_id = create(stack, "ended", *DAY, concurrency=4)["id"]
    assert wait_status(stack, backfill_id, "FAILED")["failed"] == 5
    marker.touch()
    retried = requests.post(f"{stack.url}/api/v1/backfills/{backfill_id}/retry-failed", timeout=10).json()
    assert retried["retried"] == 5 and retried["backfill"]["status"] in ("RUNNING", "SUCCEEDED")
    assert counted(wait_status(stack, backfill_id, "SUCCEEDED")) == {"SUCCEEDED": 11}
    assert requests.post(f"{stack.url}/api/v1/backfills/nope/retry-failed", timeout=10).status_code == 404


def overlap(a: dict, b: dict) -> bool:
    """Whether two executions ran at the same time, from their state histories."""

    def span(execution):
        dates = [h["date"] for h in execution["state"]["histories"]]
        return min(dates), max(dates)

    (a_start, a_end), (b_start, b_end) = span(a), span(b)
    return a_start < b_end and b_start < a_end


def test_two_backfills_of_one_trigger_run_at_once_unless_their_ranges_overlap(local_stack):
    stack = local_stack
    register(stack, sleeper("parallel", 1))
    morning = create(stack, "parallel", "2024-01-01T00:00:00Z", "2024-01-01T04:00:00Z")["id"]
    status, trigger = curl_json(
        "PUT", f"{stack.url}/api/v1/triggers", body("parallel", "2024-01-01T12:00:00Z", "2024-01-01T15:00:00Z")
    )
    assert status == 200, trigger
    evening = trigger["backfill"]["id"]
    # Kestra's trigger JSON shows the newest backfill that still runs.
    assert trigger["backfill"]["start"] == "2024-01-01T12:00:00Z"

    # The trigger's pause holds both; an overlapping backfill is refused, naming the one it overlaps.
    paused = requests.put(f"{stack.url}/api/v1/triggers/backfill/pause", json=ref("parallel"), timeout=10)
    assert paused.status_code == 200, paused.text
    listed = stack.get("/api/v1/backfills", namespace=NAMESPACE, flowId="parallel")["results"]
    assert {b["id"]: b["status"] for b in listed} == {morning: "PAUSED", evening: "PAUSED"}
    clash = requests.put(
        f"{stack.url}/api/v1/triggers",
        json=body("parallel", "2024-01-01T04:00:00Z", "2024-01-01T06:00:00Z"),
        timeout=10,
    )
    assert clash.status_code == 409, clash.text
    assert morning in clash.json()["message"] and "overlaps" in clash.json()["message"]
    status, clash = curl_json(
        "PUT", f"{stack.url}/api/v1/triggers", body("parallel", "2024-01-01T15:00:00Z", "2024-01-01T16:00:00Z")
    )
    assert status == 409 and evening in clash["message"] and "overlaps" in clash["message"]

    assert requests.put(f"{stack.url}/api/v1/triggers/backfill/unpause", json=ref("parallel"), timeout=10).ok
    wait_status(stack, morning, "SUCCEEDED")
    wait_status(stack, evening, "SUCCEEDED")
    executions = stack.executions(namespace=NAMESPACE, flowId="parallel")
    assert len(executions) == 5 + 4 and {e["state"]["current"] for e in executions} == {"SUCCESS"}
    mornings = [e for e in executions if e["backfillId"] == morning]
    evenings = [e for e in executions if e["backfillId"] == evening]
    assert any(overlap(a, b) for a in mornings for b in evenings), "the two backfills never ran at the same time"


def test_cancel_with_kill_ends_the_running_execution_at_once(local_stack):
    stack = local_stack
    register(stack, sleeper("stuck", 60))
    backfill_id = create(stack, "stuck", *DAY)["id"]
    [running] = stack.wait_for(
        lambda: stack.executions(namespace=NAMESPACE, flowId="stuck", state="RUNNING"), 20, "a running execution"
    )
    started = time.monotonic()
    status, cancelled = curl_json("POST", f"{stack.url}/api/v1/backfills/{backfill_id}/cancel", {"kill": True})
    assert status == 200 and cancelled["status"] == "CANCELLING", cancelled
    final = wait_status(stack, backfill_id, "CANCELLED", timeout=20)
    assert time.monotonic() - started < 15  # not the task's 60 s
    assert stack.get(f"/api/v1/executions/{running['id']}")["state"]["current"] == "KILLED"
    assert counted(final) == {"CANCELLED": 11} and (final["succeeded"], final["failed"]) == (0, 0)
    listed = slots(stack, backfill_id)
    assert [s["state"] for s in listed] == ["CANCELLED"] * 11
    assert listed[0]["executionId"] == running["id"] and not any(s["executionId"] for s in listed[1:])


def test_kestra_kill_of_one_execution_and_delete_with_kill(local_stack):
    stack = local_stack
    register(stack, sleeper("stubborn", 60))
    backfill_id = create(stack, "stubborn", "2024-01-02T00:00:00Z", "2024-01-02T03:00:00Z")["id"]

    def running_execution():
        found = stack.executions(namespace=NAMESPACE, flowId="stubborn", state="RUNNING")
        return found[0] if found else None

    first = stack.wait_for(running_execution, 20, "the first slot to run")
    assert first["trigger"]["variables"]["date"] == "2024-01-02T00:00:00Z"
    status, answer = curl("-X", "DELETE", f"{stack.url}/api/v1/executions/{first['id']}/kill")
    assert (status, answer) == (202, None)
    stack.wait_for(
        lambda: stack.get(f"/api/v1/executions/{first['id']}")["state"]["current"] == "KILLED", 15, "the kill"
    )
    # The killed slot is cancelled and the backfill carries on with the next.
    second = stack.wait_for(
        lambda: (e := running_execution()) and e["id"] != first["id"] and e, 20, "the second slot to run"
    )
    assert second["trigger"]["variables"]["date"] == "2024-01-02T01:00:00Z"
    assert slots(stack, backfill_id)[0] == {
        "date": "2024-01-02T00:00:00Z",
        "state": "CANCELLED",
        "executionId": first["id"],
        "reason": None,
    }

    deleted = requests.post(
        f"{stack.url}/api/v1/triggers/backfill/delete", json={**ref("stubborn"), "kill": True}, timeout=10
    )
    assert deleted.status_code == 200 and deleted.json().get("backfill") is None, deleted.text
    final = wait_status(stack, backfill_id, "CANCELLED", timeout=20)
    assert stack.get(f"/api/v1/executions/{second['id']}")["state"]["current"] == "KILLED"
    assert counted(final) == {"CANCELLED": 4}
    assert "PENDING" not in states(stack, backfill_id)
    assert requests.delete(f"{stack.url}/api/v1/executions/nope/kill", timeout=10).status_code == 404
