"""Time from Kestra's PUT /api/v1/triggers to the last of the seed window's 11 executions, on the local
stack, and how much of it is the flow itself (each slot's shell task) versus our overhead.

    .venv/bin/python -m bench.seed_backfill [--runs 3]
"""

import argparse
import statistics
import time
from datetime import datetime

import requests

from local.stack import LocalStack, free_port

SEED_WINDOW = {
    "namespace": "dev",
    "flowId": "scheduled_flow",
    "triggerId": "schedule",
    "backfill": {
        "start": "2024-03-28T06:30:00.000Z",
        "end": "2024-03-28T11:30:00.000Z",
        "labels": [{"key": "reason", "value": "outage"}],
    },
}


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def one_run(url: str) -> tuple[float, float]:
    started = time.time()
    response = requests.put(f"{url}/api/v1/triggers", json=SEED_WINDOW, timeout=30)
    response.raise_for_status()
    while True:
        found = requests.get(
            f"{url}/api/v1/executions/search",
            params={"namespace": "dev", "state": "SUCCESS", "size": 100},
            timeout=10,
        ).json()["results"]
        if len(found) == 11:
            break
        time.sleep(0.05)
    last_end = max(seconds(e["state"]["endDate"]) for e in found)
    in_tasks = sum(
        seconds(t["state"]["endDate"]) - seconds(t["state"]["startDate"]) for e in found for t in e["taskRunList"]
    )
    return last_end - started, in_tasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    totals, overheads = [], []
    for run in range(args.runs):
        stack = LocalStack(port=free_port())
        stack.start()
        try:
            total, in_tasks = one_run(stack.api_url)
        finally:
            stack.stop()
        totals.append(total)
        overheads.append((total - in_tasks) / 11)
        print(
            f"run {run + 1}: PUT -> 11th execution ended {total:.2f}s; in the tasks {in_tasks:.2f}s; "
            f"overhead per slot {(total - in_tasks) / 11 * 1000:.0f} ms"
        )
    print(
        f"median over {args.runs} runs: {statistics.median(totals):.2f}s end to end, "
        f"{statistics.median(overheads) * 1000:.0f} ms overhead per slot (concurrency 1, local stack)"
    )


if __name__ == "__main__":
    main()
