"""Concurrency, order and the backfills resource over HTTP, with requests and curl."""

import json
import subprocess

import requests

FLOW = """
id: quick
namespace: e2e
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{ trigger.date }}"
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def body(**backfill):
    window = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T10:00:00Z"}
    return {"namespace": "e2e", "flowId": "quick", "triggerId": "hourly", "backfill": {**window, **backfill}}


def finished(stack, backfill_id):
    return stack.wait_for(
        lambda: (b := stack.get(f"/api/v1/backfills/{backfill_id}"))["status"] == "SUCCEEDED" and b,
        timeout=60,
        what=f"backfill {backfill_id} to succeed",
    )


def test_concurrency_order_patch_and_history(local_stack):
    stack = local_stack
    response = requests.post(
        f"{stack.url}/api/v1/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert response.status_code == 200, response.text

    answer = requests.put(f"{stack.url}/api/v1/triggers", json=body(concurrency=4, order="newest_first"), timeout=10)
    assert answer.status_code == 200, answer.text
    first = answer.json()["backfill"]
    assert (first["concurrency"], first["order"], first["currentDate"]) == (4, "newest_first", "2024-01-01T10:00:00Z")
    done = finished(stack, first["id"])
    assert done["succeeded"] == 11

    answer = requests.put(f"{stack.url}/api/v1/triggers", json=body(), timeout=10)
    second = answer.json()["backfill"]["id"]
    ref = {"namespace": "e2e", "flowId": "quick", "triggerId": "hourly"}
    assert requests.put(f"{stack.url}/api/v1/triggers/backfill/pause", json=ref, timeout=10).status_code == 200
    patched = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "PATCH",
            f"{stack.url}/api/v1/backfills/{second}",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"concurrency": 3}',
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    resource = json.loads(patched.stdout)
    assert (resource["concurrency"], resource["status"]) == (3, "PAUSED")
    assert requests.put(f"{stack.url}/api/v1/triggers/backfill/unpause", json=ref, timeout=10).status_code == 200
    finished(stack, second)

    history = stack.get("/api/v1/backfills", namespace="e2e", flowId="quick")
    assert [b["id"] for b in history["results"]] == [second, first["id"]]
    assert {b["status"] for b in history["results"]} == {"SUCCEEDED"}


SLOW = FLOW.replace("id: quick", "id: slow").replace(
    """  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{ trigger.date }}"
""",
    """  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 2
""",
)


def test_cancel_with_curl_and_progress(local_stack):
    stack = local_stack
    response = requests.post(
        f"{stack.url}/api/v1/flows", data=SLOW, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert response.status_code == 200, response.text
    answer = requests.put(
        f"{stack.url}/api/v1/triggers",
        json={**body(concurrency=2), "flowId": "slow"},
        timeout=10,
    )
    backfill = answer.json()["backfill"]
    assert backfill["total"] == 11 and backfill["percent"] == 0.0
    stack.wait_for(lambda: stack.get(f"/api/v1/backfills/{backfill['id']}")["running"] >= 1, 20, "a running slot")
    done = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{stack.url}/api/v1/backfills/{backfill['id']}/cancel"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(done.stdout)["status"] in ("CANCELLING", "CANCELLED")
    final = stack.wait_for(
        lambda: (b := stack.get(f"/api/v1/backfills/{backfill['id']}"))["status"] == "CANCELLED" and b,
        timeout=30,
        what="the backfill to be cancelled",
    )
    assert final["running"] == 0 and final["succeeded"] + final["failed"] + final["cancelled"] == final["total"]
    assert final["counts"]["PENDING"] == 0
    assert final["etaDate"] is None
