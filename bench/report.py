"""What every bench script shares: the machine it ran on, its tables printed and appended to
bench/results.md, and a count of every AWS API call the process makes.

Figures of one run are comparable with each other (ratios), not across machines: the header of each
section says where and when it ran.
"""

import argparse
import os
import platform
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results.md")
# Calls the event source mapping makes (Lambda's poller on AWS), not our handlers.
POLLER_OPERATIONS = {"ReceiveMessage", "DeleteMessageBatch", "DeleteMessage"}


def arguments(doc: str, **extra) -> argparse.Namespace:
    """`--quick` (a smoke-check size) plus the script's own options, given as name=(type, default, help)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small size, to check the script runs")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    return parser.parse_args()


def machine() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, commit {commit or 'unknown'}, load average {load}"
    )


def markdown_table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return (
            "| "
            + " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


class Report:
    """One script's section of results.md: printed as it is built, appended by save()."""

    def __init__(self, name: str, title: str, quick: bool):
        self.parts = [
            f"## {name}: {title}{' (--quick)' if quick else ''}",
            f"`.venv/bin/python -m bench.{' '.join([name, *sys.argv[1:]])}`; {machine()}",
        ]
        for part in self.parts:
            print(part, flush=True)

    def table(self, headers: list[str], rows: list[list]) -> None:
        self._add(markdown_table(headers, rows))

    def note(self, text: str) -> None:
        self._add(text)

    def _add(self, text: str) -> None:
        print(f"\n{text}", flush=True)
        self.parts.append(text)

    def save(self) -> None:
        with RESULTS.open("a") as out:
            out.write("\n\n".join(self.parts) + "\n\n")
        print(f"\nappended to {RESULTS.relative_to(ROOT)}", flush=True)


def role() -> str:
    """Who is calling, by thread: the local stack names its executor pollers and scheduler threads; the
    API server answers on its request threads; the bench itself runs on the main thread."""
    name = threading.current_thread().name
    if name.startswith("executor-"):
        return "executor"
    if name == "scheduler":
        return "scheduler"
    if name == "MainThread":
        return "bench"
    return "api"


class AwsCalls:
    """Counts every botocore API call (one per call, retries not counted again) made in this process, by
    (who, service, operation). Registered on boto3's default session before the local stack makes its
    clients, so every client made from it (the stack's and the layer's lazy ones) copies the handler.
    A thread may set `phase` to tag its calls (e.g. the dispatch of the next slot)."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.sent = 0
        self.lock = threading.Lock()
        self.local = threading.local()
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", self._count)

    def _count(self, params, model, **_) -> None:
        who = role()
        if who == "executor" and model.name in POLLER_OPERATIONS:
            who = "poller"
        phase = getattr(self.local, "phase", None)
        key = (phase or who, model.service_model.service_name, model.name)
        with self.lock:
            self.counts[key] += 1
            if model.name == "SendMessageBatch":
                self.sent += len(params.get("Entries", []))
            elif model.name == "SendMessage":
                self.sent += 1

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.sent = 0

    def messages_sent(self) -> int:
        """Messages sent to SQS since the last reset (a batch counts its entries)."""
        with self.lock:
            return self.sent

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)


def calls_table(counts: Counter, per: int, per_name: str) -> tuple[list[str], list[list]]:
    """Calls by who, service and operation, and per `per_name`, largest first."""
    rows = [
        [who, service, operation, count, f"{count / per:.2f}"]
        for (who, service, operation), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return ["who", "service", "operation", "calls", f"per {per_name}"], rows


def total_of(counts: Counter, *who: str) -> int:
    return sum(n for (w, _, _), n in counts.items() if w in who)
