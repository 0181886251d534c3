"""DynamoDB and SQS answered in memory behind botocore: a `before-send` handler, registered first on boto3's
default session before any client is made, takes each request botocore has built and signed, applies it to
moto's in-process backends under one lock (so each call is atomic, as on AWS), waits the operation's latency
on the design clock (half before the call is applied, half after, as a request and its answer travel), and
hands botocore moto's answer to parse. It counts every call by who made it, the capacity units DynamoDB
would charge (units.py), the conditional-check failures and the SQS requests as billed (64 KB chunks).

Other services (S3, Secrets Manager, Lambda) are answered by moto as `mock_aws` would, uncounted and instant."""

import contextvars
import copy
import json
import math
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from . import units
from .clock import DesignClock

REGION = "us-east-1"
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
SQS_CHUNK = 64 * 1024
CONDITION_FAILED = ("ConditionalCheckFailed", "TransactionCanceled")


@dataclass(frozen=True)
class Latency:
    """Seconds (design time) an operation takes, request and answer together."""

    dynamodb_read: float = 0.005
    dynamodb_write: float = 0.008
    sqs: float = 0.015

    def of(self, service: str, operation: str) -> float:
        if service == "sqs":
            return self.sqs
        return self.dynamodb_write if operation in DYNAMODB_WRITES else self.dynamodb_read


class FakeAws:
    """Install with `installed()`; read the counters after a run (`reset()` between runs)."""

    def __init__(self, clock: DesignClock, latency: Latency, shapes: dict[str, units.TableShape], who):
        self.clock = clock
        self.latency = latency
        self.shapes = shapes
        self.who = who  # () -> str: who is calling, read on the calling thread
        self.lock = threading.Lock()
        self.counted = threading.Lock()
        self.sent = threading.Condition()
        self.sends = 0  # sends and visibility changes so far, read by idle pollers
        self.acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting", default=None)
        self.reset()

    def reset(self) -> None:
        self.calls: Counter = Counter()  # (who, service, operation)
        self.sqs_requests: Counter = Counter()  # who: billed requests (64 KB chunks), empty receives apart
        self.empty_receives: Counter = Counter()  # who
        self.condition_failures: Counter = Counter()  # (who, operation)
        self.units: dict[str, units.Units] = {}  # who

    @contextmanager
    def installed(self):
        """botocore calls every `before-send` handler and keeps the first answer: moto's own handler (which
        `mock_aws` enables) is switched off while this one answers, or each request would be applied twice."""
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        session.events.register_first("before-send", self._send, unique_id="fake-aws")
        enabled, botocore_stubber.enabled = botocore_stubber.enabled, False
        try:
            yield self
        finally:
            botocore_stubber.enabled = enabled
            session.events.unregister("before-send", unique_id="fake-aws")

    @contextmanager
    def acting_as(self, who: str):
        """Calls made in this context counted as `who` (the event source mapping's receive and delete, the API),
        those of the threads it hands a copy of its context to too (work_queue's batches)."""
        token = self.acting.set(who)
        try:
            yield
        finally:
            self.acting.reset(token)

    def caller(self) -> str:
        return self.acting.get() or self.who()

    def wait_for_messages(self, seen: int, wall_seconds: float) -> None:
        """An idle poller's long poll: until a message is sent or made visible again after `seen` (`sends`
        read before its empty receive), at most this long."""
        with self.sent:
            if self.sends == seen:
                self.sent.wait(wall_seconds)

    def _wake(self, pollers: int) -> None:
        with self.sent:
            self.sends += 1
            self.sent.notify(pollers)

    def _send(self, request, event_name: str, **_) -> AWSResponse:
        _, service, operation = event_name.split(".")[:3]
        if service not in ("dynamodb", "sqs"):  # moto's, as mock_aws would answer it: instant, not counted
            with self.lock:
                status, headers, body = botocore_stubber.process_request(request)
            return AWSResponse(request.url, status, headers, MockRawResponse(body))
        params = json.loads(request.body or b"{}")
        latency = self.latency.of(service, operation)
        self.clock.sleep(latency / 2)
        with self.lock:
            writes = self._items_written(operation, params) if service == "dynamodb" else []
            writes = [(table, key, factor) for table, key, factor in writes if key is not None]
            before = [self._image(table, key) for table, key, _ in writes]
            status, headers, body = botocore_stubber.process_request(request)
            after = [self._image(table, key) for table, key, _ in writes]
        self.clock.sleep(latency / 2)
        answer = json.loads(body) if body else {}
        if service == "dynamodb":
            self._count_dynamodb(operation, params, status, answer, writes, before, after)
        else:
            self._count_sqs(operation, params, request.body or b"", answer)
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    def _items_written(self, operation: str, params: dict) -> list[tuple[str, dict, int]]:
        """(table, key, unit factor) of each item a write touches."""
        if operation == "PutItem":
            shape = self.shapes[params["TableName"]]
            return [(params["TableName"], shape.key_of(params["Item"]), 1)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], 1)]
        if operation == "BatchWriteItem":
            written = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        written.append((table, self.shapes[table].key_of(request["PutRequest"]["Item"]), 1))
                    else:
                        written.append((table, request["DeleteRequest"]["Key"], 1))
            return written
        if operation == "TransactWriteItems":
            written = []
            for action in params["TransactItems"]:
                ((kind, detail),) = action.items()
                table = detail["TableName"]
                key = self.shapes[table].key_of(detail["Item"]) if kind == "Put" else detail["Key"]
                written.append((table, key, 2))
            return written
        return []

    def _image(self, table: str, key: dict) -> units.Image | None:
        """The item as stored now; None when there is none (or the request names no valid key: moto refuses it)."""
        try:
            shape = self.shapes[table]
            moto_table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table)
            range_key = DynamoType(key[shape.keys[1]]) if len(shape.keys) > 1 else None
            item = moto_table.get_item(DynamoType(key[shape.keys[0]]), range_key)
        except Exception:  # noqa: BLE001 - the call itself fails the same way, and is answered as moto answers it
            return None
        return copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None

    def _count_dynamodb(self, operation, params, status, answer, writes, before, after) -> None:
        failed = status >= 400 and any(name in answer.get("__type", "") for name in CONDITION_FAILED)
        used = units.Units()
        if operation in DYNAMODB_WRITES and (status < 400 or failed):
            for (table, _, factor), old, new in zip(writes, before, after, strict=True):
                used.add(units.item_write(self.shapes[table], old, new, not failed, factor))
        elif operation == "GetItem" and status < 400:
            used.read = units.read([units.item_size(answer.get("Item"))], bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem" and status < 400:
            for table, request in params["RequestItems"].items():
                found = [units.item_size(item) for item in answer.get("Responses", {}).get(table, [])]
                missing = [0] * (len(request["Keys"]) - len(found))
                used.read += units.read(found + missing, bool(request.get("ConsistentRead")))
        elif operation == "TransactGetItems" and status < 400:
            sizes = [units.item_size(response.get("Item")) for response in answer.get("Responses", [])]
            used.read = units.read(sizes, True, transactional=True)
        elif operation in ("Query", "Scan") and status < 400:
            sizes = [units.item_size(item) for item in answer.get("Items", [])]
            used.read = units.query(sizes, bool(params.get("ConsistentRead")))
        who = self.caller()
        with self.counted:
            self.calls[(who, "dynamodb", operation)] += 1
            self.units.setdefault(who, units.Units()).add(used)
            if failed:
                self.condition_failures[(who, operation)] += 1

    def _count_sqs(self, operation: str, params: dict, body: bytes, answer: dict) -> None:
        who = self.caller()
        empty = operation == "ReceiveMessage" and not answer.get("Messages")
        with self.counted:
            self.calls[(who, "sqs", f"{operation} (empty)" if empty else operation)] += 1
            if empty:
                self.empty_receives[who] += 1
            else:
                self.sqs_requests[who] += max(1, math.ceil(len(body) / SQS_CHUNK))
        if operation in ("SendMessage", "SendMessageBatch"):
            self._wake(len(params.get("Entries", [None])))
        elif operation == "ChangeMessageVisibility":  # visible again then: a poller is woken at that time
            timer = threading.Timer(self.clock.wall(int(params["VisibilityTimeout"])), self._wake, (1,))
            timer.daemon = True
            timer.start()

    def totals(self, *who: str) -> dict[str, Any]:
        """The counters summed over the given callers."""
        used = units.Units()
        for name in who:
            used.add(self.units.get(name, units.Units()))
        return {
            "calls": Counter({key: n for key, n in self.calls.items() if key[0] in who}),
            "units": used,
            "sqs_requests": sum(self.sqs_requests[name] for name in who),
            "empty_receives": sum(self.empty_receives[name] for name in who),
            "condition_failures": sum(n for (name, _), n in self.condition_failures.items() if name in who),
        }


class MotoTime:
    """Wall seconds moto spends answering calls, to take out of a measured time: moto looks at every item of a table
    on each Query of an index, where DynamoDB reads only the key range asked, so its CPU grows with the table."""

    def __init__(self):
        self.seconds = 0.0
        self.answer = botocore_stubber.process_request

    def __enter__(self) -> "MotoTime":
        def timed(request):
            started = time.perf_counter()
            try:
                return self.answer(request)
            finally:
                self.seconds += time.perf_counter() - started

        botocore_stubber.process_request = timed
        return self

    def __exit__(self, *exc) -> None:
        del botocore_stubber.process_request  # the class's method again
