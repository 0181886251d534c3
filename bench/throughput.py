"""Throughput: slots completed per second end to end on the local stack, with a no-op flow (one Log
task), for one backfill at concurrency 1, 10 and 50, and for five backfills at once on five flows; and
the AWS API calls per slot, by who made them, service and operation.

The local stack runs every executor as a thread of this one process (sharing its cores with moto), so
the figures are the engine's overhead per slot under that ceiling, not what Lambda would do: the
ratios between cases are what to read. Each case gets a fresh stack with as many executor pollers as
slots may be in flight (the sum of the windows), so the window is the limit, not the pollers.

    .venv/bin/python -m bench.throughput [--quick] [--slots 2000]
"""

from datetime import UTC, datetime

from .harness import BENCH_VISIBILITY_SECONDS, Client, SlotFailures, minutes, seconds_between, start_stack
from .report import AwsCalls, Report, arguments, total_of

NAMESPACE = "bench.throughput"
START = datetime(2024, 1, 1, tzinfo=UTC)
KESTRA_PER_TRIGGER = 1.0  # Kestra's scheduler emits at most one backfill execution a second per trigger
TEMPORAL_PER_SCHEDULE = 10.0  # Temporal's scheduler starts about ten workflows a second per schedule


def run_case(calls: AwsCalls, backfills: int, slots: int, concurrency: int) -> dict:
    """`backfills` backfills of `slots` slots each, on flows of their own, all started at once."""
    executors = backfills * concurrency
    stack = start_stack(executors, BENCH_VISIBILITY_SECONDS)
    failures = SlotFailures(stack)
    try:
        client = Client(stack.api_url)
        for number in range(backfills):
            client.add_noop_flow(NAMESPACE, f"noop{number}")
        calls.reset()
        ids = [
            client.backfill(NAMESPACE, f"noop{number}", *minutes(START, slots), concurrency)["backfill"]["id"]
            for number in range(backfills)
        ]
        finished = client.wait_all(ids, poll=0.25)
        counted = calls.snapshot()
    finally:
        stack.stop()
    states = list(finished.values())
    first = min(s["created"] for s in states)
    last = max(s["updated"] for s in states)  # the finishing write sets `updated`
    succeeded = sum(s["succeeded"] for s in states)
    return {
        "executors": executors,
        "succeeded": succeeded,
        "failed": sum(s["failed"] for s in states),
        "elapsed": seconds_between(first, last),
        "per_backfill": [s["succeeded"] / seconds_between(s["created"], s["updated"]) for s in states],
        "calls": counted,
        "raised": failures.describe(),
    }


def main() -> None:
    args = arguments(__doc__, slots=(int, 2000, "slots of the single backfills; the five share as many"))
    slots = 100 if args.quick else args.slots
    report = Report("throughput", "slots per second end to end and AWS calls per slot", args.quick)
    calls = AwsCalls()
    cases = [(f"1 backfill, concurrency {c}", 1, slots, c) for c in (1, 10, 50)]
    cases.append((f"5 backfills x {slots // 5} slots, concurrency 10 each", 5, slots // 5, 10))
    results = []
    for label, backfills, each, concurrency in cases:
        print(f"running {label} ...", flush=True)
        results.append((label, run_case(calls, backfills, each, concurrency)))

    rows = []
    for label, r in results:
        rate = r["succeeded"] / r["elapsed"]
        per_backfill = min(r["per_backfill"])
        handler = total_of(r["calls"], "executor", "api")
        rows.append(
            [
                label,
                r["executors"],
                f"{r['succeeded']:,}",
                r["failed"],
                f"{r['elapsed']:.1f}",
                f"{rate:.1f}",
                f"{per_backfill:.1f}",
                f"{per_backfill / KESTRA_PER_TRIGGER:.1f}x",
                f"{per_backfill / TEMPORAL_PER_SCHEDULE:.2f}x",
                f"{handler / r['succeeded']:.2f}",
                f"{total_of(r['calls'], 'poller') / r['succeeded']:.2f}",
                r["raised"],
            ]
        )
    report.table(
        [
            "case",
            "pollers",
            "slots done",
            "failed",
            "seconds",
            "slots/s",
            "slots/s per backfill (slowest)",
            "vs Kestra 1/s per trigger",
            "vs Temporal ~10/s per schedule",
            "handler calls per slot",
            "poller calls per slot",
            "slot runs that raised",
        ],
        rows,
    )
    operations = sorted({key for _, r in results for key in r["calls"]}, key=lambda k: (k[0], k[1], k[2]))
    per_slot = [
        [who, service, operation]
        + [f"{r['calls'][(who, service, operation)] / r['succeeded']:.2f}" for _, r in results]
        for who, service, operation in operations
    ]
    per_slot.append(["all", "", "total"] + [f"{sum(r['calls'].values()) / r['succeeded']:.2f}" for _, r in results])
    report.table(["who", "service", "operation"] + [label for label, _ in results], per_slot)
    report.note(
        "AWS calls per slot completed: every botocore call of the process from the first PUT to the last slot, "
        "by thread: `executor` = the executor handler, `poller` = the event source mapping's receive and delete "
        "(Lambda's poller on AWS; idle long polls included), `api` = the API handler (the PUTs and the bench's "
        "progress polls every 0.25 s). Peer ratios use the slowest backfill's own rate (slots/s per trigger), "
        "measured on one process with 2 shared cores; on AWS each executor is its own Lambda. `slot runs that raised`: "
        "a slot's claim or finish that gave up under contention on the backfill record (Conflict) comes back after "
        f"the visibility timeout, {BENCH_VISIBILITY_SECONDS} s here (720 s in template.yaml); its wait is in the "
        "figures."
    )
    report.save()


if __name__ == "__main__":
    main()
