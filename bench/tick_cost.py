"""Tick cost: one scheduler tick and one trigger search page with 100 and 10,000 flows, 10 of them due, on the
AWS-like fake (bench/fake_aws: DynamoDB and SQS in memory behind botocore, 5 ms a read, 8 ms a write, 15 ms an
SQS call); the ratio of the large to the small case is what the design promises to keep under 2.

Every flow has one Schedule trigger whose STATE says where the live schedule got to: 10 run at minute 30 of every
hour and are due at each tick (HH:30), the others run once a year and are not. The flows and states are written
straight into the fake through the repositories' item shapes (BatchWriteItem, no latency), so 10,000 take
seconds to set up. A tick is `live_schedule.tick` (the scheduler handler's watchdogs apart, whose cost follows
running backfills, not flows); a search is `GET /api/v1/triggers/search?page=1&size=10` through the API handler.
Each is run once to warm the function (its parsed flows), then `--repeat` times; the median is reported, in
design time at `--scale` (10: this process's CPU, moto's included, counts a tenth against the latencies; 1: wall
time), with this process's CPU and the AWS calls of one run. moto answers a Query of an index by reading the whole
table (about 0.4 s of CPU at 10,000 items, 10 s for a COUNT), where DynamoDB reads what it returns: each time is
also given less the time moto took to answer ("moto out", as bench/search_cost gives it), the design's own.

    .venv/bin/python -m bench.tick_cost [--quick] [--flows 100,10000] [--due 10] [--repeat 3]
"""

import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from .fake_aws.runner import AwsLike
from .fake_aws.service import Latency, MotoTime
from .report import Report, arguments

NAMESPACE = "bench.tick"
DUE_CRON, IDLE_CRON = "30 * * * *", "0 0 1 1 *"
FLOW = """id: {flow_id}
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
FIRST_TICK = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
INTERVAL = timedelta(minutes=1)


def store(env: AwsLike, flows: int, due: int) -> None:
    """`flows` flows and their triggers' STATE items, `due` of them due at FIRST_TICK, written in batches."""
    from backfill_core.aws_clients import dynamodb
    from backfill_core.flows.model import parse_flow
    from backfill_core.schedules.kestra_time import storage_key
    from backfill_core.settings import settings
    from backfill_core.storage import due_triggers, flows_repository, trigger_listing
    from backfill_core.triggers.live_schedule import fingerprint
    from backfill_core.triggers.model import TriggerKey

    shapes = {
        cron: parse_flow(FLOW.format(flow_id="shape", namespace=NAMESPACE, cron=cron)) for cron in (DUE_CRON, IDLE_CRON)
    }
    flow_items, state_items, counts = [], [], Counter()
    for n in range(flows):
        flow_id, cron = f"flow{n:05d}", DUE_CRON if n % (flows // due) == 0 else IDLE_CRON
        flow = shapes[cron].model_copy(update={"id": flow_id})
        flow_items.append(
            flows_repository._item("main", flow, FLOW.format(flow_id=flow_id, namespace=NAMESPACE, cron=cron), 1)
        )
        trigger = flow.triggers[0]
        schedule = trigger.schedule()
        last = schedule.previous_before(FIRST_TICK)  # the previous tick's date: the due ones' slot is this tick's
        key = TriggerKey("main", NAMESPACE, flow_id, trigger.id)
        state = {
            "pk": {"S": key.pk},
            "sk": {"S": "STATE"},
            "date": {"S": storage_key(last)},
            "schedule": {"S": fingerprint(trigger)},
        }
        state |= {  # due at the slot after `last`; listed (storage/trigger_listing) by identity, and counted
            "due": {"S": storage_key(schedule.next_after(last))},
            "dueShard": {"S": due_triggers.shard(key)},
            "listTenant": {"S": "main"},
            "listKey": {"S": f"{NAMESPACE}#{flow_id}#{trigger.id}"},
            trigger_listing.COUNTED: {"BOOL": True},
        }
        state_items.append(state)
        counts[trigger_listing._shard(key)] += 1
    for shard, count in counts.items():  # the counter items of the count
        state_items.append(trigger_listing._counter_key("main", shard) | {"count": {"N": str(count)}})
    client = dynamodb()
    for table, items in ((settings().flows_table, flow_items), (settings().triggers_table, state_items)):
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            client.batch_write_item(RequestItems={table: batch})


def measure(env: AwsLike, repeat: int, action) -> tuple[float, float, float, dict]:
    """The median design seconds, with and without moto's own time, and CPU seconds (this process's: the handler's,
    botocore's and moto's) of `repeat` runs after a warm-up run, and the AWS calls of the last one (the work queue
    emptied before each run)."""
    action(0)
    seconds, designed, cpu = [], [], []
    for n in range(1, repeat + 1):
        env.sqs.purge_queue(QueueUrl=env.queue_url)
        env.fake.reset()
        with MotoTime() as moto:
            started, cpu_started = env.clock.monotonic(), time.process_time()
            action(n)
            seconds.append(env.clock.monotonic() - started)
        designed.append(seconds[-1] - moto.seconds / env.clock.scale)
        cpu.append(time.process_time() - cpu_started)
    calls = env.fake.totals("bench")["calls"]
    medians = statistics.median(seconds), statistics.median(designed), statistics.median(cpu)
    return *medians, {op: n for (_, _, op), n in sorted(calls.items())}


def case(flows: int, due: int, repeat: int, scale: float) -> dict:
    with AwsLike(Latency(), scale=scale) as env:
        from backfill_core.storage import flows_repository
        from backfill_core.triggers import live_schedule

        flows_repository._parsed.cache_clear()
        with env.fake.acting_as("bench"):
            env.fake.latency = Latency(0.0, 0.0, 0.0)
            store(env, flows, due)
            env.fake.latency = Latency()
            dispatched = []

            def tick(n: int) -> None:
                dispatched.append(live_schedule.tick(FIRST_TICK + n * timedelta(hours=1), INTERVAL))

            tick_seconds, tick_design, tick_cpu, tick_calls = measure(env, repeat, tick)
            answers = []
            search = lambda n: answers.append(env.call("GET", "/api/v1/triggers/search?page=1&size=10"))  # noqa: E731
            search_seconds, search_design, search_cpu, search_calls = measure(env, repeat, search)
    return {
        "flows": flows,
        "tick": tick_seconds,
        "tick_design": tick_design,
        "tick_cpu": tick_cpu,
        "tick_calls": tick_calls,
        "dispatched": dispatched,
        "search": search_seconds,
        "search_design": search_design,
        "search_cpu": search_cpu,
        "search_calls": search_calls,
        "total": answers[-1]["total"],
    }


def calls_text(calls: dict) -> str:
    return ", ".join(f"{count} {op}" for op, count in calls.items())


def main() -> None:
    args = arguments(
        __doc__,
        flows=(str, "100,10000", "the cases' numbers of flows, comma-separated (the first is the ratios' base)"),
        due=(int, 10, "flows due at each tick"),
        repeat=(int, 3, "measured runs of each (after one warm-up run)"),
        scale=(float, 10.0, "wall seconds per design second (1: wall time, moto's CPU counted in full)"),
    )
    sizes = [100, 1000] if args.quick else [int(n) for n in args.flows.split(",")]
    report = Report("tick_cost", "the scheduler tick and the trigger search against the number of flows", args.quick)
    results = [case(n, args.due, args.repeat, args.scale) for n in sizes]
    base = results[0]
    rows = [
        [
            f"{r['flows']:,}",
            f"{r['tick'] * 1000:.0f}",
            f"{r['tick'] / base['tick']:.2f}x",
            f"{r['tick_design'] * 1000:.0f}",
            f"{r['tick_design'] / base['tick_design']:.2f}x",
            f"{r['tick_cpu'] * 1000:.0f}",
            "/".join(str(d) for d in r["dispatched"]),
            calls_text(r["tick_calls"]),
            f"{r['search'] * 1000:.0f}",
            f"{r['search'] / base['search']:.2f}x",
            f"{r['search_design'] * 1000:.0f}",
            f"{r['search_design'] / base['search_design']:.2f}x",
            f"{r['search_cpu'] * 1000:.0f}",
            r["total"],
            calls_text(r["search_calls"]),
        ]
        for r in results
    ]
    headers = [
        "flows",
        "tick ms",
        "vs first",
        "moto out",
        "vs first",
        "CPU ms",
        "slots sent",
        "tick's AWS calls",
        "search ms",
        "vs first",
        "moto out",
        "vs first",
        "CPU ms",
    ]
    report.table([*headers, "total", "search's AWS calls"], rows)
    report.note(
        f"{args.due} flows due at each tick; medians of {args.repeat} runs after a warm-up, design time at scale "
        f"{args.scale:g} (the CPU of this process, moto's included, counts 1/{args.scale:g}; moto's CPU for a Query of "
        "an index grows with the table, DynamoDB's with what it returns: 'moto out' is the time less moto's own); "
        "the AWS calls are those of one run."
    )
    report.save()


if __name__ == "__main__":
    main()
