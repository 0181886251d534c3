"""The dry run's forecast against the time a backfill really takes, on the local stack: a flow whose task sleeps
0.2 s is backfilled `--history` slots (its recent executions), then the dry run forecasts `--slots` more at the same
concurrency, which are then run and timed from their create to their end (as the forecast counts it).

    .venv/bin/python -m bench.forecast [--quick] [--history 100] [--slots 1000] [--concurrency 4]
"""

from datetime import datetime, timedelta

from .harness import Client, iso, start_stack
from .report import Report, arguments

FLOW = """
id: napping
namespace: bench.forecast
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.2S
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""
START = datetime(2024, 1, 1)


def request(start: datetime, slots: int, concurrency: int) -> dict:
    end = start + timedelta(minutes=slots - 1)
    return {
        "namespace": "bench.forecast",
        "flowId": "napping",
        "triggerId": "schedule",
        "backfill": {"start": iso(start), "end": iso(end), "concurrency": concurrency},
    }


def took(backfill: dict) -> float:
    created, updated = (datetime.fromisoformat(backfill[k].replace("Z", "+00:00")) for k in ("created", "updated"))
    return (updated - created).total_seconds()


def main() -> None:
    args = arguments(
        __doc__,
        history=(int, 100, "slots run first: the flow's recent executions"),
        slots=(int, 1000, "slots forecast, then run and timed"),
        concurrency=(int, 4, "the concurrency of both backfills"),
    )
    history, slots = (20, 100) if args.quick else (args.history, args.slots)
    report = Report("forecast", "the dry run's forecast of a backfill against its measured time", args.quick)
    stack = start_stack(executors=args.concurrency)
    try:
        client = Client(stack.api_url)
        client.http.post(
            f"{client.url}/flows", data=FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=30
        ).raise_for_status()
        first = client.http.put(f"{client.url}/triggers", json=request(START, history, args.concurrency), timeout=60)
        first.raise_for_status()
        ran_first = client.wait_all([first.json()["backfill"]["id"]])
        body = request(START + timedelta(days=7), slots, args.concurrency)
        planned = client.http.post(f"{client.url}/backfills/dry-run?size=1", json=body, timeout=60)
        planned.raise_for_status()
        forecast = planned.json()["forecast"]
        started = client.http.put(f"{client.url}/triggers", json=body, timeout=60)
        started.raise_for_status()
        (measured,) = client.wait_all([started.json()["backfill"]["id"]]).values()
    finally:
        stack.stop()
    history_took = took(next(iter(ran_first.values())))
    measured_s = took(measured)
    error = (forecast["seconds"] - measured_s) / measured_s
    report.table(
        ["history slots", "history s", "forecast slots", "forecast s", "measured s", "forecast / measured", "error"],
        [
            [
                history,
                f"{history_took:.1f}",
                slots,
                f"{forecast['seconds']:.1f}",
                f"{measured_s:.1f}",
                f"{forecast['seconds'] / measured_s:.2f}",
                f"{error:+.0%}",
            ]
        ],
    )
    report.note(f"Basis: {forecast['basis']}.")
    report.table(["cost line", "arithmetic"], [[line["item"], line["arithmetic"]] for line in forecast["cost"]])
    report.note(
        f"Total ${forecast['costUsd']:.4f} for {slots:,} slots ({forecast['prices']}). Local stack, "
        f"{args.concurrency} executor pollers, a flow whose one task sleeps 0.2 s; measured from the backfill's "
        f"create to its end ({iso(datetime.now())} run), as the forecast counts it; the target is within 25%."
    )
    report.save()


if __name__ == "__main__":
    main()
