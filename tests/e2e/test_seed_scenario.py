"""The seed scenario over HTTP: eleven slots replayed once each; pause, unpause and delete with curl."""

import json
import subprocess
import time

import requests

SEED_WINDOW = {
    "namespace": "dev",
    "flowId": "scheduled_flow",
    "triggerId": "schedule",
    "backfill": {
        "start": "2024-03-28T06:30:00.000Z",
        "end": "2024-03-28T11:30:00.000Z",
        "inputs": None,
        "labels": [{"key": "reason", "value": "outage"}],
    },
}
SLOTS = [f"2024-03-28T{h:02d}:{m:02d}:00Z" for h in range(6, 12) for m in (0, 30) if (h, m) >= (6, 30)]


def curl(stack, method: str, path: str, body: str) -> tuple[int, str]:
    done = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            method,
            stack.url + path,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    text, status = done.stdout.rsplit("\n", 1)
    return int(status), text


def test_eleven_slots_each_once_with_date_labels_and_log(local_stack):
    stack = local_stack
    started = time.monotonic()
    response = requests.put(f"{stack.url}/api/v1/triggers", json=SEED_WINDOW, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["backfill"]["currentDate"] == "2024-03-28T06:30:00Z"

    done = stack.wait_for(
        lambda: (
            (found := stack.backfills(namespace="dev", labels="reason:outage", state="SUCCESS"))
            and len(found) == 11
            and found
        ),
        timeout=120,
        what="11 successful executions",
    )
    elapsed = time.monotonic() - started
    print(f"\nPUT to the 11th SUCCESS execution: {elapsed:.1f}s")
    executions = stack.backfills(namespace="dev")
    assert len(executions) == 11
    assert sorted(e["trigger"]["variables"]["date"] for e in done) == SLOTS
    for execution in done:
        logs = stack.get(f"/api/v1/logs/{execution['id']}")
        assert f"processing data for {execution['trigger']['variables']['date']}" in [x["message"] for x in logs]
    trigger = stack.get("/api/v1/triggers/search", namespace="dev", flowId="scheduled_flow")["results"][0]
    assert trigger["triggerContext"].get("backfill") is None


def test_pause_unpause_and_delete_with_curl(local_stack):
    stack = local_stack
    ref = '{"namespace": "company.team", "flowId": "scheduled_flow", "triggerId": "schedule"}'
    body = SEED_WINDOW | {"namespace": "company.team"}
    assert requests.put(f"{stack.url}/api/v1/triggers", json=body, timeout=30).status_code == 200
    stack.wait_for(lambda: stack.backfills(namespace="company.team"), timeout=30, what="the first execution")

    status, text = curl(stack, "PUT", "/api/v1/triggers/backfill/pause", ref)
    assert status == 200 and '"paused": true' in text.replace('":true', '": true')
    at_pause = len(stack.backfills(namespace="company.team"))
    time.sleep(4)  # a slot takes about a second: unpaused, three more would have started
    assert len(stack.backfills(namespace="company.team")) <= at_pause + 1

    status, _ = curl(stack, "PUT", "/api/v1/triggers/backfill/unpause", ref)
    assert status == 200
    stack.wait_for(
        lambda: len(stack.backfills(namespace="company.team", state="SUCCESS")) == 11,
        timeout=120,
        what="the paused backfill to finish after unpause",
    )
    dates = [e["trigger"]["variables"]["date"] for e in stack.backfills(namespace="company.team")]
    assert sorted(dates) == SLOTS

    # A new backfill over another day, deleted after its first slot: nothing further runs.
    later = body | {"backfill": body["backfill"] | {"start": "2024-03-29T06:30:00Z", "end": "2024-03-29T11:30:00Z"}}
    assert requests.put(f"{stack.url}/api/v1/triggers", json=later, timeout=30).status_code == 200
    stack.wait_for(lambda: len(stack.backfills(namespace="company.team")) > 11, timeout=30, what="a new slot")
    status, text = curl(stack, "POST", "/api/v1/triggers/backfill/delete", ref)
    assert status == 200 and '"backfill"' not in text  # the trigger has no backfill left: Kestra leaves it out
    at_delete = len(stack.backfills(namespace="company.team"))
    time.sleep(4)
    assert len(stack.backfills(namespace="company.team")) <= at_delete + 1
    status, text = curl(stack, "POST", "/api/v1/triggers/backfill/delete", ref)
    assert (status, json.loads(text)["message"]) == (400, "No backfill found")
