"""A small, seeded fault injector for the backfill domain: crashes at chosen points, SQS that duplicates
and redelivers, DynamoDB that throttles or loses an answer.

Nothing in production code knows about it: crash points wrap domain functions (restored on uninstall),
AWS faults hook the events of the boto3 clients made by backfill_core.aws_clients, and SQS redelivery is
played by wrapping the executor handler given to local.event_source.QueuePoller. Every decision comes from
one `random.Random(seed)`, so a run driven in one thread replays exactly from its seed.
"""

import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from backfill_core import aws_clients
from backfill_core.flows.execution import ENDED_STATES as TERMINAL_STATES
from backfill_core.settings import settings
from backfill_core.storage import executions_repository, work_queue

POINTS = {
    # The process dies (ProcessDied); what it wrote stays written, what it had not done never happens.
    "execution_written": "executor dies right after the execution record is created",
    "task_ran_unsaved": "executor dies after a task ran, before its state is saved",
    "cursor_written_unsent": "dispatcher dies between the cursor update and SendMessageBatch",
    "send_mid_batch": "dispatcher dies after sending only part of its slot messages",
    "executor_mid_batch": "executor dies in the middle of a batch, after finishing its first records",
    # AWS misbehaving.
    "sqs_duplicate": "SQS delivers a sent message twice",
    "sqs_redelivered": "a processed message comes back after its visibility timeout",
    "dynamodb_throttled": "a DynamoDB call throttles (retries spent), nothing written",
    "dynamodb_answer_lost": "a DynamoDB write is applied but answers 500 InternalServerError",
    "watchdog_early": "a message outlives SLOT_RESEND_SECONDS, so the watchdog sends its slot again",
}
CRASH_POINTS = (
    "execution_written",
    "task_ran_unsaved",
    "cursor_written_unsent",
    "send_mid_batch",
    "executor_mid_batch",
)
THROTTLES = ("ProvisionedThroughputExceededException", "ThrottlingException")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def rates(crash: float, aws: float, per_call: float) -> dict[str, float]:
    """`crash` at each crash point, `aws` for an SQS duplicate or redelivery (a fifth of it for an early
    watchdog run), `per_call` for each DynamoDB call (a slot makes about fifteen)."""
    return {
        **dict.fromkeys(CRASH_POINTS, crash),
        "sqs_duplicate": aws,
        "sqs_redelivered": aws,
        "watchdog_early": aws / 5,
        "dynamodb_throttled": per_call,
        "dynamodb_answer_lost": per_call,
    }


class ProcessDied(BaseException):
    """The Lambda environment dying at this point: a BaseException, so no `except Exception` in the
    domain or in Powertools' batch processor mistakes it for an error it could handle."""


class FaultInjector:
    def __init__(self, seed: int, rates: dict[str, float], sqs_for_copies=None, queue_url: str | None = None):
        unknown = set(rates) - set(POINTS)
        assert not unknown, f"unknown fault points: {unknown}"
        self.seed = seed
        self.random = random.Random(seed)
        self.rates = rates
        self.injected: Counter[str] = Counter()
        self.terminal_writes: Counter[str] = Counter()  # execution id -> writes of a final state
        self.armed = False
        self._sqs_for_copies = sqs_for_copies  # a client without hooks, to deliver the copies
        self._queue_url = queue_url
        self._restore: list[Callable[[], None]] = []

    # Decisions

    def fires(self, point: str) -> bool:
        if not self.armed or not self.rates.get(point):
            return False
        if self.random.random() < self.rates[point]:
            self.injected[point] += 1
            return True
        return False

    def crash_at(self, point: str) -> None:
        if self.fires(point):
            raise ProcessDied(point)

    @contextmanager
    def arming(self) -> Iterator[None]:
        """Faults fire only inside this block: the test's own setup and checks run on a healthy stack."""
        self.armed = True
        try:
            yield
        finally:
            self.armed = False

    # Installation

    def install(self) -> "FaultInjector":
        self._wrap(executions_repository, "create_if_absent", self._after_create)
        self._wrap(executions_repository, "save", self._before_save)
        self._wrap(executions_repository, "take_over", self._observe_take_over)
        self._wrap(work_queue, "send", self._dispatch)
        self._hook(aws_clients.dynamodb(), "before-call.dynamodb", self._throttle)
        self._hook(aws_clients.dynamodb(), "after-call.dynamodb", self._lose_answer)
        self._hook(aws_clients.sqs(), "before-parameter-build.sqs.SendMessageBatch", self._remember_entries)
        self._hook(aws_clients.sqs(), "after-call.sqs.SendMessageBatch", self._duplicate)
        return self

    def uninstall(self) -> None:
        while self._restore:
            self._restore.pop()()

    def _wrap(self, owner: Any, name: str, make: Callable[[Callable], Callable]) -> None:
        real = getattr(owner, name)
        setattr(owner, name, make(real))
        self._restore.append(lambda: setattr(owner, name, real))

    def _hook(self, client, event: str, handler) -> None:
        client.meta.events.register(event, handler)
        self._restore.append(lambda: client.meta.events.unregister(event, handler))

    # Crash points, around the domain's functions

    def _after_create(self, real):
        def create_if_absent(execution):
            created = real(execution)
            self.crash_at("execution_written")
            return created

        return create_if_absent

    def _before_save(self, real):
        def save(execution, **options):
            self.crash_at("task_ran_unsaved")
            real(execution, **options)
            self._count_terminal(execution)

        return save

    def _observe_take_over(self, real):
        def take_over(execution, seen_attempt, now_epoch):
            real(execution, seen_attempt, now_epoch)
            self._count_terminal(execution)  # an execution whose attempts are spent ends FAILED here

        return take_over

    def _count_terminal(self, execution) -> None:
        if execution.state.current in TERMINAL_STATES:
            self.terminal_writes[execution.id] += 1

    def _dispatch(self, real):
        def send(messages):
            self.crash_at("cursor_written_unsent")
            if len(messages) > 1 and self.fires("send_mid_batch"):
                real(messages[: self.random.randint(1, len(messages) - 1)])
                raise ProcessDied("send_mid_batch")
            real(messages)

        return send

    # AWS faults, on the domain's boto3 clients

    def _throttle(self, model, **_) -> None:
        if self.fires("dynamodb_throttled"):
            code = self.random.choice(THROTTLES)
            raise ClientError(
                {"Error": {"Code": code, "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                model.name,
            )

    def _lose_answer(self, model, http_response, **_) -> None:
        if model.name in WRITES and http_response.status_code < 300 and self.fires("dynamodb_answer_lost"):
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerError", "Message": "Internal server error"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                model.name,
            )

    @staticmethod
    def _remember_entries(params, context, **_) -> None:
        context["chaos_request"] = dict(params)  # after-call sees the answer, not the request

    def _duplicate(self, parsed, context, **_) -> None:
        request = context.get("chaos_request")
        if self._sqs_for_copies is None or request is None:
            return
        sent = {entry["Id"] for entry in parsed.get("Successful", [])}
        copies = [e for e in request["Entries"] if e["Id"] in sent and self.fires("sqs_duplicate")]
        if copies:
            self._sqs_for_copies.send_message_batch(QueueUrl=request["QueueUrl"], Entries=copies)

    # The executor as the event source mapping sees it

    def executor(self, handler, sqs, queue_url: str):
        """The handler a QueuePoller invokes: it may die in the middle of the batch, and sends back at once
        (as if the visibility timeout had passed) every message the mapping would see again: all of a
        batch whose invocation died, the reported failures, and processed ones SQS redelivers anyway."""

        def visible_again(records: list[dict]) -> None:
            for record in records:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )

        def invoke(event: dict, context) -> dict:
            records = event["Records"]
            try:
                if len(records) > 1 and self.fires("executor_mid_batch"):
                    handler({**event, "Records": records[: self.random.randint(1, len(records) - 1)]}, context)
                    raise ProcessDied("executor_mid_batch")
                response = handler(event, context) or {}
            except ProcessDied as died:
                visible_again(records)
                raise RuntimeError(f"the executor's environment died at {died}") from None
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            # A processed message SQS delivers again (its delete lost) is rare: never so often in a row that the
            # redelivery alone would move it to the dead-letter queue.
            spare = settings().work_queue_max_receives - 1
            failed |= {
                r["messageId"]
                for r in records
                if r["messageId"] not in failed
                and int(r["attributes"]["ApproximateReceiveCount"]) < spare
                and self.fires("sqs_redelivered")
            }
            visible_again([r for r in records if r["messageId"] in failed])
            return {"batchItemFailures": [{"itemIdentifier": i} for i in sorted(failed)]}

        return invoke
