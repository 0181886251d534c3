"""Memory: the peak memory of the API handler and of the executor handler while a year of every-minute
slots (525,600) runs, for its first slots, against a backfill of 10 slots. Neither may grow with the
backfill: the record holds the window, not the slots.

Each case runs in a fresh interpreter of its own (ru_maxrss is per process) with moto as a separate
process, so tracemalloc and ru_maxrss see the handlers and boto3, not moto's tables. The handlers are
called in the main thread as Lambda calls them: one slot message per executor invocation (BatchSize 1).

    .venv/bin/python -m bench.memory [--quick] [--slots 300]
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager

import boto3
import requests

from local.api_server import proxy_event
from local.aws_template import LocalResources, load_template
from local.event_source import sqs_event
from local.lambda_runtime import LambdaContext, load_handler_module
from local.stack import REGION, free_port

from .harness import NOOP_FLOW
from .report import Report, arguments

CASES = {
    "10 slots": ("2023-01-01T00:00:00Z", "2023-01-01T00:09:00Z"),
    "525,600 slots": ("2023-01-01T00:00:00Z", "2023-12-31T23:59:00Z"),
}
CONCURRENCY = 10


@contextmanager
def moto_process():
    """moto's server in a process of its own, so its tables are not in this process's memory."""
    port = free_port()
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def peak_of(call) -> tuple[object, int]:
    """The call's answer and the most memory tracemalloc saw in use during it, above what it started with."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    answer = call()
    return answer, tracemalloc.get_traced_memory()[1] - before


def run_case(start: str, end: str, slots: int) -> dict:
    """One backfill, driven through the handlers in this process; the figures as a dict."""
    with moto_process() as moto_url:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": moto_url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
        )
        sqs = boto3.client("sqs")
        resources = LocalResources(load_template(), REGION)
        resources.create(boto3.client("dynamodb"), sqs, events=boto3.client("events"))
        os.environ.update(resources.function_environment("ExecutorFunction"))
        os.environ.update(resources.function_environment("ApiFunction"))
        queue = resources.work_queue_event_source()["Queue"]
        queue_url, queue_arn = resources.queue_urls[queue], resources.queue_arns[queue]
        api = load_handler_module("api").lambda_handler
        executor = load_handler_module("executor").lambda_handler

        def call_api(method: str, path: str, body: str, content_type: str = "application/json") -> dict:
            event = proxy_event(method, path, {"Content-Type": content_type}, body.encode(), "127.0.0.1")
            answer = api(event, LambdaContext("ApiFunction", 30))
            if answer["statusCode"] >= 300:
                raise RuntimeError(f"{method} {path}: {answer['statusCode']} {answer.get('body')}")
            return json.loads(answer["body"] or "null")

        source = NOOP_FLOW.format(namespace="bench.memory", flow_id="year", cron="* * * * *")
        call_api("POST", "/api/v1/flows", source, "application/x-yaml")
        body = {
            "namespace": "bench.memory",
            "flowId": "year",
            "triggerId": "schedule",
            "backfill": {"start": start, "end": end, "concurrency": CONCURRENCY},
        }
        tracemalloc.start()
        created, put_peak = peak_of(lambda: call_api("PUT", "/api/v1/triggers", json.dumps(body)))
        backfill_id = created["backfill"]["id"]
        api_peaks, executor_peaks = [put_peak], []
        while len(executor_peaks) < slots:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])
            if not messages.get("Messages"):
                break  # the small backfill is done
            event = sqs_event(messages["Messages"], queue_arn, REGION)
            answer, peak = peak_of(lambda event=event: executor(event, LambdaContext("ExecutorFunction", 120)))
            executor_peaks.append(peak)
            if not answer.get("batchItemFailures"):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages["Messages"][0]["ReceiptHandle"])
            if len(executor_peaks) % 50 == 0:
                api_peaks.append(peak_of(lambda: call_api("GET", f"/api/v1/backfills/{backfill_id}", ""))[1])
        state, get_peak = peak_of(lambda: call_api("GET", f"/api/v1/backfills/{backfill_id}", ""))
        api_peaks.append(get_peak)
        if state["status"] == "RUNNING":
            api_peaks.append(peak_of(lambda: call_api("POST", f"/api/v1/backfills/{backfill_id}/cancel", "{}"))[1])
        record = len(json.dumps(state))
        tracemalloc.stop()
    first, last = executor_peaks[: len(executor_peaks) // 2], executor_peaks[len(executor_peaks) // 2 :]
    return {
        "total": state["total"],
        "slots": len(executor_peaks),
        "succeeded": state["succeeded"],
        "executor_peak": max(executor_peaks),
        "executor_median": statistics.median(executor_peaks),
        "executor_first_half": max(first) if first else 0,
        "executor_second_half": max(last),
        "api_peak": max(api_peaks),
        "put_peak": put_peak,
        "backfill_json": record,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> None:
    args = arguments(
        __doc__,
        slots=(int, 300, "executor invocations of the large backfill before it is cancelled"),
        case=(str, None, "run one case in this process and print its figures as JSON (used by main)"),
    )
    slots = 40 if args.quick else args.slots
    if args.case:
        print(json.dumps(run_case(*CASES[args.case], slots)))
        return
    report = Report("memory", "peak memory of the handlers by backfill size", args.quick)
    results = {}
    for name in CASES:
        print(f"running {name} ...", flush=True)
        command = [sys.executable, "-m", "bench.memory", "--case", name, "--slots", str(slots)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    small, large = results["10 slots"], results["525,600 slots"]
    kib = lambda n: f"{n / 1024:,.0f}"  # noqa: E731
    mib = lambda n: f"{n / 1024:,.0f}"  # noqa: E731 - ru_maxrss is in KiB on Linux
    shown = [
        ("executor: peak per invocation (tracemalloc KiB)", "executor_peak", kib),
        ("executor: median per invocation (KiB)", "executor_median", kib),
        ("executor: peak, first half of the slots (KiB)", "executor_first_half", kib),
        ("executor: peak, second half of the slots (KiB)", "executor_second_half", kib),
        ("API: PUT /api/v1/triggers peak (KiB)", "put_peak", kib),
        ("API: peak over PUT, GETs, cancel (KiB)", "api_peak", kib),
        ("process ru_maxrss (MiB)", "maxrss_kb", mib),
        ("backfill JSON (bytes)", "backfill_json", str),
        ("slots in the backfill", "total", "{:,}".format),
        ("executor invocations measured", "slots", str),
    ]
    ratios = [
        [label, shape(small[key]), shape(large[key]), f"{large[key] / max(small[key], 1):.2f}"]
        for label, key, shape in shown
    ]
    report.table(["", "10 slots", "525,600 slots", "ratio"], ratios)
    report.note(
        f"Ratio of the executor's peak per invocation, 525,600 / 10 slots: "
        f"**{large['executor_peak'] / small['executor_peak']:.2f}**; of the API's PUT: "
        f"**{large['put_peak'] / small['put_peak']:.2f}** (near 1: memory does not grow with the backfill). "
        f"Concurrency {CONCURRENCY}; the large backfill ran its first {large['slots']} slots and was cancelled. "
        "tracemalloc counts Python allocations during each handler call above what was in use before it; "
        "ru_maxrss is the whole process (interpreter, boto3, the handlers, tracemalloc's own tables)."
    )
    report.save()


if __name__ == "__main__":
    main()
