"""Backfill concurrency on the local stack: 20 slots of a flow whose task sleeps one second, at
concurrency 1 and 10, with the most slots ever seen running (sampled from GET /api/v1/backfills/{id}).

    .venv/bin/python -m bench.concurrency
"""

import time

import requests

from local.stack import LocalStack, free_port

FLOW = """
id: sleepy
namespace: bench
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 1
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
SLOTS = 20


def run(url: str, concurrency: int, day: int) -> tuple[float, int]:
    body = {
        "namespace": "bench",
        "flowId": "sleepy",
        "triggerId": "hourly",
        "backfill": {
            "start": f"2024-01-{day:02d}T00:00:00Z",
            "end": f"2024-01-{day:02d}T{SLOTS - 1:02d}:00:00Z",
            "concurrency": concurrency,
        },
    }
    started = time.monotonic()
    answer = requests.put(f"{url}/api/v1/triggers", json=body, timeout=30)
    answer.raise_for_status()
    backfill_id = answer.json()["backfill"]["id"]
    most_running = 0
    while True:
        state = requests.get(f"{url}/api/v1/backfills/{backfill_id}", timeout=10).json()
        most_running = max(most_running, state["running"])
        if state["status"] == "SUCCEEDED":
            return time.monotonic() - started, most_running
        time.sleep(0.05)


def main() -> None:
    stack = LocalStack(port=free_port(), executors=10, flows_dir=None)
    stack.start()
    try:
        response = requests.post(
            f"{stack.api_url}/api/v1/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=10
        )
        response.raise_for_status()
        serial, serial_most = run(stack.api_url, 1, 1)
        parallel, parallel_most = run(stack.api_url, 10, 2)
    finally:
        stack.stop()
    print(f"{SLOTS} slots of a 1 s task, local stack with 10 executor pollers")
    print(f"concurrency  1: {serial:6.2f} s, at most {serial_most} running at once")
    print(f"concurrency 10: {parallel:6.2f} s, at most {parallel_most} running at once")
    print(f"ratio (10 / 1): {parallel / serial:.2f}")


if __name__ == "__main__":
    main()
