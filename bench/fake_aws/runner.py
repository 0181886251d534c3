"""The real handlers on the in-memory DynamoDB and SQS: the API handler creates a backfill (Kestra's PUT
/api/v1/triggers), and `concurrency` executor environments, each a thread with its own copy of the executor
module, are fed the work queue's messages as Lambda's SQS event source mapping feeds them (template.yaml's
batch size, partial-batch failures left to come back after their visibility timeout)."""

import json
import os
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import moto.sqs.models
from moto import mock_aws

from local.api_server import proxy_event
from local.aws_template import LocalResources, load_template
from local.event_source import sqs_event
from local.lambda_runtime import LambdaContext, ensure_layer_on_path, load_handler_module

from ..harness import FINAL, NOOP_FLOW
from . import units
from .clock import BackoffTimer, DesignClock, Governor, patched, time_module
from .service import REGION, FakeAws, Latency

IDLE_WAIT_WALL_SECONDS = 5.0  # an idle poller looks again this often (a send, or a message visible again, wakes one)


def role() -> str:
    name = threading.current_thread().name
    if name.startswith("executor-"):
        return "executor"
    return "bench" if name == "MainThread" else "other"


@dataclass
class Invocations:
    count: int = 0
    seconds: float = 0.0  # design time, handler start to end
    cpu_seconds: float = 0.0  # this machine's CPU in the handler's thread
    failed_records: int = 0  # records reported failed (they come back after their visibility timeout)
    last_end: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, cpu: float, failed: int, end: float) -> None:
        with self.lock:
            self.count += 1
            self.seconds += seconds
            self.cpu_seconds += cpu
            self.failed_records += failed
            self.last_end = max(self.last_end, end)


class AwsLike:
    """The environment of one bench process: enter once, run cases, exit (everything restored)."""

    def __init__(
        self,
        latency: Latency,
        scale: float = 1.0,
        cpu_target: float | None = None,
        max_scale: float = 500.0,
        max_concurrency: int = 200,
    ):
        """`scale`: wall seconds per design second; with `cpu_target` (a share of one core), the least scale,
        raised during a run while this process's CPU is above the target (Governor)."""
        self.latency = latency
        self.clock = DesignClock(scale)
        self.scale, self.cpu_target, self.max_scale = scale, cpu_target, max_scale
        self.max_concurrency = max_concurrency
        self.template = load_template()
        self.flows = 0

    def __enter__(self) -> "AwsLike":
        self.stack = ExitStack()
        self.stack.callback(os.environ.update, dict(os.environ))
        self.stack.callback(lambda saved=set(os.environ): [os.environ.pop(k) for k in set(os.environ) - saved])
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "BACKFILL_API_TOKEN", "API_TOKEN_SECRET"):
            os.environ.pop(name, None)
        # A purge between cases: AWS's one a minute would be of design time here.
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false",
            }
        )
        ensure_layer_on_path()
        from backfill_core import aws_clients
        from backfill_core.backfills import changes
        from backfill_core.settings import forget_settings, load_settings
        from backfill_core.storage import flows_repository

        self.stack.enter_context(mock_aws())
        self.fake = FakeAws(self.clock, self.latency, units.shapes_from_template(self.template), role)
        self.backoff = BackoffTimer(self.clock, self.fake.caller)
        design_seconds = lambda dt=None: self.clock.time() if dt is None else original_seconds(dt)  # noqa: E731
        original_seconds = self.stack.enter_context(patched(moto.sqs.models, "unix_time", design_seconds))
        design_millis = lambda dt=None: design_seconds(dt) * 1000.0  # noqa: E731
        self.stack.enter_context(patched(moto.sqs.models, "unix_time_millis", design_millis))
        self.stack.enter_context(patched(changes, "time", time_module(self.backoff)))
        # The executor's flow cache ages on the design clock too (FLOW_CACHE_SECONDS are design seconds on AWS).
        self.stack.enter_context(patched(flows_repository, "time", time_module(self.backoff)))
        self.stack.enter_context(self.fake.installed())
        aws_clients.reset()
        self.stack.callback(aws_clients.reset)
        self.stack.callback(forget_settings)
        self.resources = LocalResources(self.template, REGION)
        self.sqs = boto3.client("sqs")
        self.resources.create(boto3.client("dynamodb"), self.sqs, boto3.client("s3"), boto3.client("events"))
        for function in ("ExecutorFunction", "ApiFunction"):
            os.environ.update(self.resources.function_environment(function))
        os.environ["BACKFILL_MAX_CONCURRENCY"] = str(self.max_concurrency)
        load_settings()
        self.api = load_handler_module("api").lambda_handler
        source = self.resources.work_queue_event_source()
        self.batch_size = source["BatchSize"]
        self.queue_url = self.resources.queue_urls[source["Queue"]]
        self.queue_arn = self.resources.queue_arns[source["Queue"]]
        executor = self.resources.function_properties("ExecutorFunction")
        self.executor_timeout = float(executor["Timeout"])
        self.executor_memory_mb = int(executor["MemorySize"])
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    def call(self, method: str, path: str, body=None, content_type: str = "application/json") -> dict:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": content_type} if raw else {}
        answer = self.api(proxy_event(method, path, headers, raw, "127.0.0.1"), LambdaContext("ApiFunction", 30))
        if answer["statusCode"] != 200:
            raise RuntimeError(f"{method} {path}: {answer['statusCode']} {answer.get('body')}")
        return json.loads(answer["body"]) if answer.get("body") else {}

    def run(self, slots: int, concurrency: int, limit_seconds: float = 600.0, namespace: str = "bench.awslike") -> dict:
        """One backfill of `slots` every-minute slots of a no-op flow at `concurrency`, with as many executor
        environments; stops early (and says so) after `limit_seconds` of wall time."""
        self.flows += 1
        flow_id = f"noop{self.flows}c{concurrency}"
        with self.fake.acting_as("bench"):
            source = NOOP_FLOW.format(namespace=namespace, flow_id=flow_id, cron="* * * * *")
            self.call("POST", "/api/v1/flows", source, "application/x-yaml")
        invocations, stopping = Invocations(), threading.Event()
        handlers = [load_handler_module("executor").lambda_handler for _ in range(concurrency)]  # cold starts
        threads = [
            threading.Thread(
                target=self._executor, args=(handler, invocations, stopping), name=f"executor-{n}", daemon=True
            )
            for n, handler in enumerate(handlers, start=1)
        ]
        for thread in threads:
            thread.start()
        governor = Governor(
            self.clock, self.cpu_target or 1.0, self.scale, self.max_scale if self.cpu_target else self.scale
        )
        body = {
            "namespace": namespace,
            "flowId": flow_id,
            "triggerId": "schedule",
            "backfill": {"start": "2024-01-01T00:00:00Z", "end": _minute(slots - 1), "concurrency": concurrency},
        }
        who = ("executor", "poller", "api", "other")
        try:
            with governor:
                self.fake.reset()
                self.backoff.reset()
                wall, design, cpu = time.monotonic(), self.clock.monotonic(), time.process_time()
                with self.fake.acting_as("api"):
                    backfill_id = self.call("PUT", "/api/v1/triggers", body)["backfill"]["id"]
                state, capped = self._wait(backfill_id, wall + limit_seconds)
                end = self.clock.monotonic() if capped else invocations.last_end
                cpu_used, wall_used = time.process_time() - cpu, time.monotonic() - wall
                counted = self.fake.totals(*who)
                backoff = (sum(self.backoff.slept[w] for w in who), sum(self.backoff.sleeps[w] for w in who))
        finally:
            stopping.set()
            with self.fake.sent:
                self.fake.sent.notify_all()
            for thread in threads:
                thread.join(timeout=self.clock.wall(self.executor_timeout))
            with self.fake.acting_as("bench"):  # what a stopped case left queued is not the next case's
                self.sqs.purge_queue(QueueUrl=self.queue_url)
        return {
            "backfill_id": backfill_id,
            "flow_id": flow_id,
            "concurrency": concurrency,
            "state": state,
            "succeeded": state["succeeded"],
            "capped": capped,
            "elapsed": end - design,
            "wall": wall_used,
            "cpu_share": cpu_used / wall_used,
            "scale": governor.mean_scale(),
            "invocations": invocations,
            "backoff_seconds": backoff[0],
            "backoff_sleeps": backoff[1],
            **counted,
        }

    def _wait(self, backfill_id: str, wall_deadline: float) -> tuple[dict, bool]:
        """The backfill's last state, and whether the deadline came first."""
        while True:
            time.sleep(0.2)
            with self.fake.acting_as("bench"):
                state = self.call("GET", f"/api/v1/backfills/{backfill_id}")
            if state["status"] in FINAL and self._drained():
                return state, False
            if time.monotonic() > wall_deadline:
                return state, True

    def _drained(self) -> bool:
        """No message left on the queue, nor one an executor still holds: the last slot's handler has ended and
        its message is deleted (a backfill reads as ended as soon as its last slot's finish is written)."""
        with self.fake.acting_as("bench"):
            found = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        return found["ApproximateNumberOfMessages"] == found["ApproximateNumberOfMessagesNotVisible"] == "0"

    def _executor(self, handler, invocations: Invocations, stopping: threading.Event) -> None:
        """One executor environment (its own module copy), fed by the event source mapping's receive."""
        while not stopping.is_set():
            seen = self.fake.sends
            with self.fake.acting_as("poller"):
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            if not messages:
                self.fake.wait_for_messages(seen, IDLE_WAIT_WALL_SECONDS)
                continue
            started, cpu = self.clock.monotonic(), time.thread_time()
            context = LambdaContext("ExecutorFunction", self.clock.wall(self.executor_timeout), self.executor_memory_mb)
            try:
                answer = handler(sqs_event(messages, self.queue_arn, REGION), context) or {}
                failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            except Exception:  # noqa: BLE001 - as Lambda: the whole batch comes back
                failed = {m["MessageId"] for m in messages}
            ended = self.clock.monotonic()
            invocations.add(ended - started, time.thread_time() - cpu, len(failed), ended)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                with self.fake.acting_as("poller"):
                    self.sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                    )


def _minute(offset: int) -> str:
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    return datetime.fromtimestamp(start + 60 * offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
