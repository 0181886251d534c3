"""Test helpers: handlers invoked with real Lambda-shaped events against moto, and a queue drainer that
plays Lambda's SQS event source mapping."""

import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from backfill_core.schedules.kestra_time import format_date, now
from backfill_core.settings import settings
from backfill_core.storage import flows_repository
from local.api_server import proxy_event
from local.aws_template import LocalResources
from local.event_source import QueuePoller
from local.lambda_runtime import LambdaContext, load_handler_module
from tests.flows import backfill_body


@dataclass
class Answer:
    status: int
    body: Any
    raw: str = ""

    @property
    def message(self) -> str:
        return self.body.get("message", "") if isinstance(self.body, dict) else ""


@dataclass
class Harness:
    resources: LocalResources
    api_module: Any = None
    executor_module: Any = None
    scheduler_module: Any = None
    sqs: Any = field(default_factory=lambda: boto3.client("sqs"))
    dynamodb: Any = field(default_factory=lambda: boto3.client("dynamodb"))

    def __post_init__(self):
        self.api_module = load_handler_module("api")
        self.executor_module = load_handler_module("executor")
        self.scheduler_module = load_handler_module("scheduler")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        headers = {**({"Content-Type": content_type} if raw else {}), **(headers or {})}
        response = self.api_module.lambda_handler(
            proxy_event(method, path, headers, raw, "127.0.0.1"), LambdaContext("ApiFunction", 30)
        )
        text = response.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        return Answer(response["statusCode"], parsed, text)

    @property
    def queue_url(self) -> str:
        return self.resources.queue_urls["WorkQueue"]

    @property
    def dlq_url(self) -> str:
        return self.resources.queue_urls["WorkDeadLetterQueue"]

    def poller(self, handler=None) -> QueuePoller:
        return QueuePoller(
            self.sqs,
            self.queue_url,
            self.resources.queue_arns["WorkQueue"],
            handler or self.executor_module.lambda_handler,
            batch_size=10,
            timeout_seconds=120,
            wait_seconds=0,
        )

    def drain(self, max_batches: int = 500) -> int:
        """Run the executor until the work queue is empty; returns how many messages it received."""
        poller, received = self.poller(), 0
        for _ in range(max_batches):
            got = poller.poll_once()
            if not got:
                return received
            received += got
        raise AssertionError("the work queue did not drain")

    def queue_depth(self, url: str | None = None) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def item_count(self, table: str) -> int:
        """Items in the table; the trigger list's apart (every stored flow's triggers have a STATE item, and each
        tenant its count's items)."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="attribute_not_exists(sk) OR (sk <> :state AND NOT begins_with(pk, :count))",
            ExpressionAttributeValues={":state": {"S": "STATE"}, ":count": {"S": "LISTED#"}},
        )
        return sum(page["Count"] for page in pages)

    def backfill(self, backfill_id: str) -> dict:
        answer = self.call("GET", f"/api/v1/backfills/{backfill_id}")
        assert answer.status == 200, answer.raw
        return answer.body

    def executions(self, **params) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in {"size": 1000, **params}.items())
        answer = self.call("GET", f"/api/v1/executions/search?{query}")
        assert answer.status == 200, answer.raw
        return answer.body["results"]


def logs_of(stack: Harness, execution: dict) -> list[str]:
    """The messages of an execution's log lines, as GET /api/v1/logs/{id} answers them."""
    return [line["message"] for line in stack.call("GET", f"/api/v1/logs/{execution['id']}").body]


def run_one(stack: Harness, flow_id: str, slot: str, namespace: str = "company.team") -> dict:
    """Backfill one slot of the flow's every_hour trigger, run the queue dry, and return the one execution."""
    body = {**backfill_body(flow_id, slot, slot), "namespace": namespace}
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    (execution,) = stack.executions(namespace=namespace, flowId=flow_id)
    return execution


def wait_for(condition, seconds: float = 20) -> None:
    """Poll until `condition()` holds, for work running in another thread."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class ExecutorDied(BaseException):
    """Stands for the Lambda environment being killed: nothing after this point runs."""


def store_bypassing_validation(stack: Harness, flow_id: str, body: str, revision: int = 1) -> None:
    """Write the flow item as an earlier release stored it, without the API's validation: a flow today's validator
    may refuse (Kestra's FlowWithException)."""
    stamp = format_date(now())
    stack.dynamodb.put_item(
        TableName=settings().flows_table,
        Item={
            "pk": {"S": "main#tests"},
            "sk": {"S": flow_id},
            "tenant": {"S": "main"},
            "source": {"S": f"id: {flow_id}\nnamespace: tests\n{body}"},
            "revision": {"N": str(revision)},
            "updated": {"S": stamp},
            "created": {"S": stamp},
        },
    )
    flows_repository.forget("main", "tests", flow_id)  # written as this process writes a flow


BACKFILL_LABEL = {"key": "system.backfill", "value": "true"}


def correlation_label(execution: dict) -> dict:
    """Kestra's system.correlationId of an execution started on its own: its own id."""
    return {"key": "system.correlationId", "value": execution["id"]}


def run_kind(execution: dict) -> str:
    """What started an execution, read from its Kestra JSON as the UI reads it (ui/states.js runKind): a parent
    flow (a Subflow task's trigger names it; the child carries its parent's system labels), a backfill (its
    system.backfill label), a person (no trigger), or the live schedule."""
    trigger = execution.get("trigger")
    if trigger is not None and "executionId" in trigger["variables"]:
        return "subflow"
    if BACKFILL_LABEL in execution["labels"]:
        return "backfill"
    return "manual" if trigger is None else "schedule"
