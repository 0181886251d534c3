"""The local stack as the bench scripts drive it: a stack on a free port with no example flows and the
scheduler out of the way, no-op flows registered over HTTP, backfills created and watched over HTTP."""

import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import requests

from local.stack import LocalStack, free_port

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
NOOP_FLOW = """
id: {flow_id}
namespace: {namespace}
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
"""


# A slot whose handler raised comes back after the queue's visibility timeout: 720 s in template.yaml, 60 s in
# the runs that count such slots (the bench's run would otherwise wait 12 minutes for each).
BENCH_VISIBILITY_SECONDS = 60


def start_stack(executors: int, visibility_timeout: int | None = None) -> LocalStack:
    """A stack whose scheduler does not tick during a run (its watchdog would only add calls)."""
    stack = LocalStack(
        port=free_port(),
        executors=executors,
        flows_dir=None,
        scheduler_interval=86_400,
        visibility_timeout=visibility_timeout,
    )
    stack.start()
    return stack


class SlotFailures:
    """Counts the slot runs that raised (the message is then retried after the visibility timeout), by
    exception: each poller's copy of the executor module gets a wrapped run_slot."""

    def __init__(self, stack: LocalStack):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        for poller in stack.pollers:
            module = sys.modules[poller.handler.__module__]
            module.run_slot = self._wrap(module.run_slot)

    def _wrap(self, run_slot):
        def counted(message, budget_seconds):
            try:
                return run_slot(message, budget_seconds)
            except Exception as exc:
                with self.lock:
                    self.counts[type(exc).__name__] += 1
                raise

        return counted

    def describe(self) -> str:
        with self.lock:
            return ", ".join(f"{n} {name}" for name, n in self.counts.most_common()) or "none"


def headers() -> dict[str, str]:
    token = os.environ.get("BACKFILL_API_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


class Client:
    """The bench's HTTP calls to the API, on one keep-alive session."""

    def __init__(self, url: str):
        self.url = f"{url}/api/v1"
        self.http = requests.Session()
        self.http.headers.update(headers())

    def add_noop_flow(self, namespace: str, flow_id: str, cron: str = "* * * * *") -> None:
        source = NOOP_FLOW.format(namespace=namespace, flow_id=flow_id, cron=cron)
        answer = self.http.post(
            f"{self.url}/flows", data=source, headers={"Content-Type": "application/x-yaml"}, timeout=30
        )
        answer.raise_for_status()

    def backfill(self, namespace: str, flow_id: str, start: datetime, end: datetime, concurrency: int = 1) -> dict:
        """Kestra's PUT /api/v1/triggers with a backfill; returns the Trigger JSON."""
        body = {
            "namespace": namespace,
            "flowId": flow_id,
            "triggerId": "schedule",
            "backfill": {"start": iso(start), "end": iso(end), "concurrency": concurrency},
        }
        answer = self.http.put(f"{self.url}/triggers", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def get_backfill(self, backfill_id: str) -> dict:
        answer = self.http.get(f"{self.url}/backfills/{backfill_id}", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def cancel(self, backfill_id: str) -> dict:
        answer = self.http.post(f"{self.url}/backfills/{backfill_id}/cancel", json={}, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def wait_all(self, backfill_ids: list[str], poll: float = 0.5, limit: float = 3600) -> dict[str, dict]:
        """Poll until every backfill is final; returns each one's last state."""
        done: dict[str, dict] = {}
        deadline = time.monotonic() + limit
        while len(done) < len(backfill_ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfills not finished after {limit:.0f} s: {set(backfill_ids) - set(done)}")
            time.sleep(poll)
            for backfill_id in backfill_ids:
                if backfill_id not in done:
                    state = self.get_backfill(backfill_id)
                    if state["status"] in FINAL:
                        done[backfill_id] = state
        return done


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes(start: datetime, count: int) -> tuple[datetime, datetime]:
    """The range holding `count` slots of an every-minute cron from `start`, both ends included."""
    return start, start + timedelta(minutes=count - 1)


def seconds_between(first: str, last: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(last) - parse(first)).total_seconds()
