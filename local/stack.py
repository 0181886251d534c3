"""The local stack in one process: moto's server as DynamoDB and SQS, the tables and queues of
template.yaml, the API handler on HTTP, executor pollers on the work queue, the scheduler every minute,
and the example flows loaded. Handlers reach moto through AWS_ENDPOINT_URL, exactly as they reach AWS.
Given a state directory, what moto holds is kept there and resumed at the next start (local/state.py)."""

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import boto3
import requests

from . import moto_gate
from .api_server import UI_PATH, ApiServer, proxy_event
from .aws_template import ROOT, LocalResources, load_template
from .event_source import QueuePoller
from .lambda_runtime import LambdaContext, ensure_layer_on_path, load_handler_module
from .moto_thread_safety import serialize_moto_requests
from .operations import LifecycleEventPrinter, MetricsStore, capture_metrics
from .state import Loaded, StateDir, StateError
from .task_runner import TaskRunnerProcess

REGION = "us-east-1"
KEY_FILE = "local-stack.key"  # the key moto and the task runner ask of every request (local/moto_gate.py)
SECRETS_FILE = "secrets.json"  # flows' secrets, put into moto's Secrets Manager at each start
EXAMPLE_FLOWS = ROOT / "examples" / "flows"
log = logging.getLogger("local")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalStack:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        executors: int = 2,
        settings: dict[str, str] | None = None,
        visibility_timeout: int | None = None,
        flows_dir: Path | None = EXAMPLE_FLOWS,
        scheduler_interval: float = 60.0,
        state_dir: Path | None = None,
        fresh: bool = False,
        request_log: Callable[[str], None] | None = None,
    ):
        self.host = host
        self.port = port
        self.executors = executors
        self.settings = settings or {}
        self.visibility_timeout = visibility_timeout
        self.flows_dir = flows_dir
        self.scheduler_interval = scheduler_interval
        self.stopping = threading.Event()
        self.pollers: list[QueuePoller] = []
        self.loaded_flows: list[str] = []
        # Kept on disk when given (python -m local: .local-state/), else in memory until the stack stops.
        self.state = StateDir(state_dir) if state_dir else None
        self.fresh = fresh
        self.resumed: Loaded | None = None
        self.flow_secrets = 0  # how many secrets.json put into Secrets Manager
        self.found: dict[str, int] = {}
        self.request_log = request_log  # given a line per HTTP request (python -m local prints them)
        self.events = LifecycleEventPrinter(lambda line: print(line, flush=True))  # `make run`'s terminal
        self.metrics = MetricsStore()  # what the handlers emit, on GET /local/metrics

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        if self.state:
            self.state.lock()  # before anything starts: a second stack on the same directory stops here
        moto_port = free_port(self.host)
        self.key = moto_gate.new_key()
        if self.state:  # for tools of the developer's that read the tables (tests/e2e/test_fuzzing.py)
            key_file = self.state.path / KEY_FILE
            key_file.write_text(self.key)
            key_file.chmod(0o600)
        self.runner_key = moto_gate.new_key()  # the task runner's role: S3 only
        self.moto = moto_gate.GatedMotoServer(self.host, moto_port, self.key, runner_key=self.runner_key)
        serialize_moto_requests()  # moto is not thread-safe where AWS is atomic
        self.moto.start()
        self.moto_url = f"http://{self.host}:{moto_port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        # moto's backends live in this process: a stack started after another one starts empty, and the
        # layer's cached clients are made again for the new endpoint.
        moto_gate.send_key_with_every_request(self.key)
        headers = {moto_gate.HEADER: self.key}
        requests.post(f"{self.moto_url}/moto-api/reset", headers=headers, timeout=10).raise_for_status()
        ensure_layer_on_path()
        from backfill_core import aws_clients
        from backfill_core.flows.tasks.isolation import make_non_dumpable
        from backfill_core.settings import load_settings

        aws_clients.reset()
        dynamodb, self.sqs = boto3.client("dynamodb"), boto3.client("sqs")
        self.resources = LocalResources(load_template(), REGION)
        self.resources.create(dynamodb, self.sqs, boto3.client("s3"), boto3.client("events"))
        self.events.attach(boto3.DEFAULT_SESSION._session)
        capture_metrics(self.metrics)
        if self.visibility_timeout is not None:
            for url in self.resources.queue_urls.values():
                self.sqs.set_queue_attributes(
                    QueueUrl=url, Attributes={"VisibilityTimeout": str(self.visibility_timeout)}
                )
        token = self.settings.get("BACKFILL_API_TOKEN") or os.environ.get("BACKFILL_API_TOKEN")
        if token:  # the user's, kept in Secrets Manager as on AWS
            self.resources.create_api_token_secret(boto3.client("secretsmanager"), token)
        os.environ.update(self.resources.function_environment("ExecutorFunction"))
        os.environ.update(self.resources.function_environment("ApiFunction"))
        os.environ["SCHEDULER_INTERVAL_SECONDS"] = f"{self.scheduler_interval:g}"
        os.environ.update(self.settings)
        load_settings()  # as each handler's cold start does: a bad --set value stops the stack here, named
        if self.state:
            self.flow_secrets = self._put_flow_secrets(boto3.client("secretsmanager"))
            self._resume()

        api = self.resources.function_properties("ApiFunction")
        self.api = ApiServer(
            load_handler_module("api").lambda_handler,
            self.host,
            self.port,
            api["Timeout"],
            self.request_log,
            local_routes={"/local/metrics": self.metrics.answer},
        )  # bound and listening from here: a request waits until it is served, below

        # Flow code runs in a process of its own, with none of this one's environment; this process's own
        # environment (the shell's, perhaps with real AWS keys) is unreadable to it.
        make_non_dumpable()
        runner = self.resources.function_properties("TaskRunnerFunction")
        self.task_runner = TaskRunnerProcess(
            self.host,
            workers=self.executors,
            timeout=float(runner["Timeout"]),
            key=self.key,
            s3_url=self.moto_url,
            runner_key=self.runner_key,
        )
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = self.task_runner.url

        source = self.resources.work_queue_event_source()
        executor = self.resources.function_properties("ExecutorFunction")
        for number in range(self.executors):
            poller = QueuePoller(
                self.sqs,
                self.resources.queue_urls[source["Queue"]],
                self.resources.queue_arns[source["Queue"]],
                load_handler_module("executor").lambda_handler,
                batch_size=source["BatchSize"],
                timeout_seconds=executor["Timeout"],
                region=REGION,
            )
            poller.start(f"executor-{number + 1}")
            self.pollers.append(poller)

        self.scheduler = load_handler_module("scheduler").lambda_handler
        threading.Thread(target=self._tick_scheduler, name="scheduler", daemon=True).start()
        if self.flows_dir:
            self.load_flows(self.flows_dir)
        # Served once the example flows are there: an earlier answer would show an empty stack (a readiness check
        # that polls the API then found no flow).
        self.api.serve_in_thread()

    def _put_flow_secrets(self, secretsmanager) -> int:
        """A flow's secret('NAME') on the local stack: <state dir>/secrets.json maps names under the prefix, as
        on AWS (`{"main/company.team/DB_PASSWORD": "..."}`), to their values; moto keeps no secret across a
        restart, so they are put at each start. Returns how many."""
        from backfill_core.settings import settings

        path = self.state.path / SECRETS_FILE
        if not path.exists():
            return 0
        written = json.loads(path.read_text())
        if not isinstance(written, dict) or not all(isinstance(v, str) for v in written.values()):
            raise StateError(f"{path} must be a JSON object of secret names to text values")
        for name, value in written.items():
            secretsmanager.create_secret(Name=settings().flow_secrets_prefix + name, SecretString=value)
        return len(written)

    def _resume(self) -> None:
        """Load the state directory into moto; after a restart no attempt of the earlier process is alive, so
        their leases end now and their messages are visible again (state.py): the slots they held carry on at
        once as their next attempt, as after every executor environment dying and the timeouts passing."""
        from backfill_core.backfills.watchdog import resend_unqueued
        from backfill_core.slots.message import parse_work_message
        from backfill_core.storage import concurrency_repository, executions_repository, triggers_repository

        self.resumed = self.state.load(self.fresh)
        if self.resumed.resumed:
            self.found["interrupted"] = executions_repository.end_leases(time.time())
            concurrency_repository.free_all_places(time.time())  # flows' concurrency places, likewise
            # A kill between the write that moved a lane and the send of its slot's message lost that message: the
            # watchdog would send it after SLOT_RESEND_SECONDS; no send is under way any more, so it is sent now.
            queued = self.state.queued_bodies(self.resources.work_queue_event_source()["Queue"])
            self.found["resent"] = resend_unqueued([parse_work_message(body) for body in queued])
        tables = self.resources.function_environment("ApiFunction")
        self.found["flows"] = self._count(tables["FLOWS_TABLE"])
        self.found["backfills"] = self._count(tables["TRIGGERS_TABLE"], "begins_with(sk, :kind)", "BACKFILL#")
        self.found["running"] = len(triggers_repository.running_backfills())
        self.found["executions"] = self._count(tables["EXECUTIONS_TABLE"], "sk = :kind", "EXECUTION")
        self.found["queued"] = sum(
            int(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][name])
            for url in self.resources.queue_urls.values()
            for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed")
        )

    @staticmethod
    def _count(table: str, condition: str | None = None, kind: str = "") -> int:
        query = {"TableName": table, "Select": "COUNT"}
        if condition:
            query |= {"FilterExpression": condition, "ExpressionAttributeValues": {":kind": {"S": kind}}}
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(**query)
        return sum(page["Count"] for page in pages)

    def describe_state(self) -> str:
        if not self.state:
            return "in memory only (not kept after the stack stops)"
        where, loaded, found = self.state.path, self.resumed, self.found
        if loaded is None:
            return f"{where} (not loaded)"
        if loaded.resumed:
            interrupted = found["interrupted"]
            return (
                f"{where}: resumed {found['flows']} flows, {found['backfills']} backfills ({found['running']} "
                f"running), {found['executions']} executions, {found['queued']} queued messages"
                + (f"; {interrupted} runs cut short by the stop resume as their next attempt" if interrupted else "")
                + (f"; {found['resent']} slots whose message the stop lost sent again" if found["resent"] else "")
            )
        if loaded.discarded:
            return f"{where}: FRESH START (--fresh): the earlier state was deleted"
        return f"{where}: fresh (nothing saved there before)"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api.port}"

    def invoke_api(self, method: str, path: str, body: str, content_type: str) -> dict:
        headers = {"Content-Type": content_type}
        if os.environ.get("BACKFILL_API_TOKEN"):  # the stack's own calls carry the token it requires
            headers["X-Api-Token"] = os.environ["BACKFILL_API_TOKEN"]
        event = proxy_event(method, path, headers, body.encode(), "127.0.0.1")
        with self.api.lock:
            return self.api.handler(event, LambdaContext("ApiFunction", 30))

    def load_flows(self, folder: Path) -> None:
        """Register every flow of the folder through the API handler (a flow already there is kept)."""
        for path in sorted(folder.glob("*.y*ml")):
            response = self.invoke_api("POST", "/api/v1/flows", path.read_text(), "application/x-yaml")
            if response["statusCode"] == 200 or "already exists" in (response.get("body") or ""):
                self.loaded_flows.append(path.name)
            else:
                raise RuntimeError(f"example flow {path.name} was refused: {response.get('body')}")

    def _tick_scheduler(self) -> None:
        """Tick on the interval's boundaries (each minute at :00 by default), passing the scheduled time as
        EventBridge Scheduler does."""
        interval = self.scheduler_interval
        while True:
            due = (int(time.time() // interval) + 1) * interval
            if self.stopping.wait(max(due - time.time(), 0)):
                return
            self.tick(datetime.fromtimestamp(due, UTC))

    def tick(self, scheduled: datetime) -> dict:
        event = {"scheduledTime": scheduled.isoformat().replace("+00:00", "Z")}
        try:
            return self.scheduler(event, LambdaContext("SchedulerFunction", 60))
        except Exception:
            log.exception("scheduler tick failed")
            return {}

    def describe(self) -> str:
        queues = ", ".join(self.resources.queue_urls)
        return "\n".join(
            [
                f"Kestra backfill API  {self.api_url}/api/v1  (tenant main; any other: {self.api_url}/api/v1/<tenant>)",
                f"web UI               {self.api_url}{UI_PATH}  ({self.api_url}/ leads there)",
                f"Swagger UI           {self.api_url}/api/v1/swagger  (OpenAPI document: "
                f"{self.api_url}/api/v1/openapi.json)",
                f"moto (DynamoDB, SQS) {self.moto_url}",
                f"metrics              {self.api_url}/local/metrics  (backfill events: the EVENT lines below)",
                "tables               FlowsTable, TriggersTable, ExecutionsTable",
                f"flow secrets         {self.flow_secrets} (from {SECRETS_FILE} in the state directory)",
                f"queues               {queues}",
                f"executors            {self.executors} pollers on WorkQueue; scheduler every "
                f"{self.scheduler_interval:g}s",
                f"flows loaded         {', '.join(self.loaded_flows) or 'none'}"
                + (" (those already there kept as they were)" if self.resumed and self.resumed.resumed else ""),
                f"state                {self.describe_state()}",
                "auth                 "
                + ("X-Api-Token (BACKFILL_API_TOKEN)" if os.environ.get("BACKFILL_API_TOKEN") else "open (loopback)"),
            ]
        )

    def stop(self) -> None:
        self.stopping.set()
        for poller in self.pollers:
            poller.stop()
        if hasattr(self, "api"):
            self.api.stop()
        if hasattr(self, "task_runner"):
            self.task_runner.stop()
        if self.state:
            self.state.close()  # what moto holds from here on is not kept
        if hasattr(self, "moto"):
            self.moto.stop()
