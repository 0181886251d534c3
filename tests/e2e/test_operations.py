"""`make run`'s operations: its terminal prints one line per backfill lifecycle event, and it serves the metrics the
handlers emit on GET /local/metrics."""

import requests

NAMESPACE = "e2e.operations"
FLOW = f"""
id: ticking
namespace: {NAMESPACE}
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
REF = {"namespace": NAMESPACE, "flowId": "ticking", "triggerId": "hourly"}


def event_lines(stack, backfill_id: str) -> list[str]:
    return [line for line in stack.output().splitlines() if line.startswith("EVENT ") and backfill_id in line]


def test_the_terminal_prints_each_lifecycle_event_and_the_metrics_are_served(local_stack):
    registered = requests.post(
        f"{local_stack.url}/api/v1/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert registered.status_code == 200, registered.text
    before = local_stack.get("/local/metrics")["metrics"]
    backfill = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T03:00:00Z"}
    created = requests.put(f"{local_stack.url}/api/v1/triggers", json={**REF, "backfill": backfill}, timeout=10)
    assert created.status_code == 200, created.text
    backfill_id = created.json()["backfill"]["id"]
    for command in ("pause", "unpause"):
        answer = requests.put(f"{local_stack.url}/api/v1/triggers/backfill/{command}", json=REF, timeout=10)
        assert answer.status_code == 200, answer.text
    local_stack.wait_for(
        lambda: local_stack.get(f"/api/v1/backfills/{backfill_id}")["status"] == "SUCCEEDED", 60, "the backfill"
    )
    local_stack.wait_for(lambda: len(event_lines(local_stack, backfill_id)) == 4, 10, "its four events")

    lines = event_lines(local_stack, backfill_id)
    kinds = [line.split()[1:3] for line in lines]
    assert kinds == [
        ["Backfill", "Created"],
        ["Backfill", "Paused"],
        ["Backfill", "Resumed"],
        ["Backfill", "Succeeded"],
    ]
    assert f"{NAMESPACE}.ticking.hourly" in lines[0] and "total=4" in lines[0]
    assert "succeeded=4 failed=0" in lines[-1]

    served = local_stack.get("/local/metrics")
    assert served["namespace"] == "KestraBackfills"
    metrics = served["metrics"]

    def added(name: str) -> float:
        return metrics[name]["sum"] - before.get(name, {}).get("sum", 0)

    assert added("SlotsSucceeded") == 4 and added("BackfillsCreated") == 1 and added("BackfillsEnded") == 1
    assert metrics["SlotDuration"]["unit"] == "Seconds" and metrics["DispatchLag"]["count"] >= 4
    assert any(document.get("backfill_id") == backfill_id for document in served["documents"])
