"""Chaos with restarts: a backfill of a no-op (Log task) flow on the local stack (`python -m local` in a
subprocess, on a state directory of its own), the stack SIGKILLed and started again on the same state a
number of times mid-run; then every slot is recounted over the API: lost slots (no execution, not ended,
or not SUCCEEDED on the slots page) and doubled slots (more than one execution, or the flow's log line
written twice by one attempt). An execution resumed as attempt 2 because a kill interrupted it is counted
apart (at most `concurrency` per kill). Prints the figures; exits 1 on any problem.

    .venv/bin/python -m bench.chaos_restart --slots 1000

The watchdog re-sends a slot whose message was lost (a kill between the backfill's write and the send)
after SLOT_RESEND_SECONDS: 900 s by default, shortened here with --resend-seconds so a run takes minutes.
"""

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import requests

from local.moto_gate import carry_key
from local.stack import KEY_FILE, free_port

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, FLOW_ID, TRIGGER_ID = "chaos.restart", "noop", "hourly"
FLOW = f"""
id: {FLOW_ID}
namespace: {NAMESPACE}
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: {TRIGGER_ID}
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
FIRST_SLOT = datetime(2020, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Stack:
    """One `python -m local` process; `kill` is SIGKILL, as an out-of-memory killer or `kill -9` does."""

    def __init__(self, port: int, state_dir: Path, log: Path, args: list[str]):
        self.url = f"http://127.0.0.1:{port}"
        self.state_dir = state_dir
        self.log = log
        self.http = requests.Session()  # one connection for the recount's thousand reads
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", str(port), "--state-dir", str(state_dir), *args],
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while "Ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start:\n{self.output()}")
            time.sleep(0.2)
        self.started = time.monotonic()

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def banner(self, name: str) -> str:
        found = re.search(rf"^{name}\s+(.*)$", self.output(), re.M)
        return found.group(1) if found else "?"

    def get(self, path: str, **params):
        answer = self.http.get(self.url + path, params=params, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)  # Ctrl-C
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs and restarts of the stack mid-run")
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--executors", type=int, default=2, help="the stack's executor pollers")
    parser.add_argument("--resend-seconds", type=int, default=60, help="the watchdog's SLOT_RESEND_SECONDS")
    parser.add_argument("--seed", type=int, default=None, help="where in the run the kills land")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds without progress before giving up")
    parser.add_argument("--state-dir", type=Path, help="default: a temporary directory, deleted afterwards")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    # Kill points: the number of ended slots at which each kill lands, spread over the run with jitter.
    kill_at = sorted(int(args.slots * (k + rng.uniform(0.5, 1.5)) / (args.kills + 2)) for k in range(1, args.kills + 1))
    print(f"seed {seed}: {args.slots} slots at concurrency {args.concurrency}, kills after {kill_at} ended", flush=True)

    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="chaos-restart-"))
    logs = Path(tempfile.mkdtemp(prefix="chaos-restart-logs-"))
    port = free_port()
    stack_args = [
        "--executors",
        str(args.executors),
        "--scheduler-interval",
        "10",
        "--set",
        f"SLOT_RESEND_SECONDS={args.resend_seconds}",
    ]
    problems: list[str] = []
    restarts: list[str] = []
    started = time.monotonic()
    stack = Stack(port, state_dir, logs / "stack-0.log", stack_args)
    try:
        answer = requests.post(
            stack.url + "/api/v1/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=30
        )
        answer.raise_for_status()
        slots = [FIRST_SLOT + timedelta(hours=i) for i in range(args.slots)]
        body = {
            "namespace": NAMESPACE,
            "flowId": FLOW_ID,
            "triggerId": TRIGGER_ID,
            "backfill": {"start": iso(slots[0]), "end": iso(slots[-1]), "concurrency": args.concurrency},
        }
        answer = requests.put(stack.url + "/api/v1/triggers", json=body, timeout=30)
        answer.raise_for_status()
        backfill_id = answer.json()["backfill"]["id"]

        best, last_progress, pending_kills = -1, time.monotonic(), list(kill_at)
        while True:
            backfill = stack.get(f"/api/v1/backfills/{backfill_id}")
            ended = backfill["succeeded"] + backfill["failed"] + backfill.get("skipped", 0)
            if backfill["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            if pending_kills and ended >= pending_kills[0]:
                pending_kills.pop(0)
                time.sleep(rng.uniform(0, 0.5))  # land anywhere in a slot's life
                stack.kill()
                number, killed = len(restarts) + 1, time.monotonic()
                stack = Stack(port, state_dir, logs / f"stack-{number}.log", stack_args)
                restarts.append(
                    f"kill {number} after {ended} ended: ready again in {time.monotonic() - killed:.1f} s, "
                    f"{stack.banner('state')}"
                )
                print(restarts[-1], flush=True)
            if ended > best:
                best, last_progress = ended, time.monotonic()
            elif time.monotonic() - last_progress > args.timeout:
                problems.append(f"no progress for {args.timeout:g} s at {ended} ended slots")
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        if pending_kills:
            problems.append(f"the backfill ended before kills at {pending_kills}")

        report = recount(stack, backfill_id, slots, backfill)
        problems += report.pop("problems")
        if report["retried"] > args.kills * args.concurrency:
            problems.append(f"{report['retried']} executions ran again, more than the kills could interrupt")
        work, dead = queue_depths(stack)
    finally:
        stack.stop()
        if not args.state_dir:
            shutil.rmtree(state_dir, ignore_errors=True)

    print(f"{args.slots} slots, {len(restarts)} kills and restarts, in {seconds:.1f} s; backfill {backfill['status']}")
    print(
        f"lost {report['lost']}, doubled {report['doubled']}; executions {report['executions']}, "
        f"resumed as a later attempt after a kill {report['retried']} (at most {args.kills * args.concurrency})"
    )
    print(f"slots page: {dict(report['slot_states'])}; queues at the end: work {work}, dead-letter {dead}")
    print(f"stack logs: {logs}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def recount(stack: Stack, backfill_id: str, slots: list[datetime], backfill: dict) -> dict:
    problems: list[str] = []
    expected = {iso(slot) for slot in slots}
    executions, page = [], 1
    while True:
        found = stack.get("/api/v1/executions/search", namespace=NAMESPACE, flowId=FLOW_ID, size=100, page=page)
        executions += found["results"]
        if not found["results"]:
            break
        page += 1
    ours = [e for e in executions if {"key": "system.backfill", "value": "true"} in e["labels"]]  # a backfill's runs
    per_slot = Counter(e["trigger"]["variables"]["date"] for e in ours)
    doubled = {slot for slot, n in per_slot.items() if n > 1}
    lost = {slot for slot in expected if per_slot[slot] == 0}
    lost |= {e["trigger"]["variables"]["date"] for e in ours if e["state"]["current"] != "SUCCESS"}
    if set(per_slot) - expected:
        problems.append(f"executions outside the range: {sorted(set(per_slot) - expected)[:5]}")

    retried = 0
    for execution in ours:
        line = f"slot {execution['trigger']['variables']['date']}"
        attempts = Counter(
            entry["attemptNumber"] for entry in stack.get(f"/api/v1/logs/{execution['id']}") if entry["message"] == line
        )
        if not attempts:
            lost.add(execution["trigger"]["variables"]["date"])
        elif max(attempts.values()) > 1:
            doubled.add(execution["trigger"]["variables"]["date"])  # one attempt ran the task twice
        retried += max(attempts, default=1) > 1  # its attempt 1 may have died before writing its log

    slot_states: Counter = Counter()
    for page in range(1, len(slots) // 100 + 2):
        for slot in stack.get(f"/api/v1/backfills/{backfill_id}/slots", page=page, size=100)["results"]:
            slot_states[slot["state"]] += 1
            if slot["state"] != "SUCCEEDED":
                lost.add(slot["date"])
    if backfill["status"] != "SUCCEEDED" or backfill["succeeded"] != len(slots):
        problems.append(f"backfill {backfill['status']} with {backfill['succeeded']} of {len(slots)} succeeded")
    if lost:
        problems.append(f"slots lost or unfinished: {sorted(lost)[:5]}")
    if doubled:
        problems.append(f"slots run twice: {sorted(doubled)[:5]}")
    return {
        "lost": len(lost),
        "doubled": len(doubled),
        "executions": len(ours),
        "retried": retried,
        "slot_states": slot_states,
        "problems": problems,
    }


def queue_depths(stack: Stack) -> tuple[int, int]:
    """Messages on the work queue and the dead-letter queue, read from moto as the stack's banner names it."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.banner(r"moto \(DynamoDB, SQS\)"),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    key = (stack.state_dir / KEY_FILE).read_text()  # moto answers only the stack's own requests
    carry_key(sqs, key)
    depths = []
    for name in ("WorkQueue", "WorkDeadLetterQueue"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        depths.append(sum(int(attributes[f"ApproximateNumberOf{kind}"]) for kind in ("Messages", "MessagesNotVisible")))
    return depths[0], depths[1]


if __name__ == "__main__":
    sys.exit(main())
