"""One chaos run, shared by tests/chaos and bench/chaos.py: a backfill of many slots driven through the
real handlers while the fault injector crashes executors and dispatchers, duplicates and redelivers
messages and throttles DynamoDB; then a recount of what a user would see.

The run is driven in one thread (one executor environment at a time), so a seed replays it exactly.
Lost messages are recovered the way production recovers them: when the queue is empty and the backfill
has not finished, the scheduler handler runs its watchdog (SLOT_RESEND_SECONDS=0 stands for the 15
minutes having passed).
"""

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from backfill_core import aws_clients
from backfill_core.backfills import slot_runs
from backfill_core.schedules.kestra_time import format_date, storage_key
from backfill_core.settings import settings
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import executions_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey
from local.aws_template import LocalResources, load_template
from local.event_source import QueuePoller
from local.lambda_runtime import LambdaContext
from tests.chaos.faults import FaultInjector, ProcessDied
from tests.harness import Harness

NAMESPACE, FLOW_ID, TRIGGER_ID = "chaos", "noop", "hourly"
FLOW = f"""
id: {FLOW_ID}
namespace: {NAMESPACE}
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{{{ trigger.date }}}}"
triggers:
  - id: {TRIGGER_ID}
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""
FIRST_SLOT = datetime(2020, 1, 1, tzinfo=UTC)
POISON = '{"kind": "backfill", "tenant": '  # cut off: no executor can parse it
# Env for a chaos run: an attempt's lease ends at once (the crashed attempt is dead when its message comes
# back, since the driver plays the visibility timeout passing), and the watchdog re-sends every slot in
# flight when it runs.
CHAOS_ENV = {"EXECUTION_LEASE_SECONDS": "0", "SLOT_RESEND_SECONDS": "0"}
IDLE_WATCHDOG_LIMIT = 200  # watchdog runs in a row without the backfill getting closer to its end


@contextmanager
def local_aws(extra_env: dict[str, str]) -> Iterator[LocalResources]:
    """moto in-process with template.yaml's tables and queues, for a run outside pytest (the bench)."""
    saved = dict(os.environ)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "BACKFILL_API_TOKEN", "API_TOKEN_SECRET"):
        os.environ.pop(name, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    try:
        with mock_aws():
            aws_clients.reset()
            resources = LocalResources(load_template(), "us-east-1")
            resources.create(boto3.client("dynamodb"), boto3.client("sqs"), events=boto3.client("events"))
            os.environ.update(resources.function_environment())
            os.environ.update(extra_env)
            yield resources
    finally:
        aws_clients.reset()
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class ChaosReport:
    seed: int
    slots: int
    concurrency: int
    injected: Counter = field(default_factory=Counter)
    duplicates: int = 0  # slots with a second execution, or an execution that reached its end twice
    lost: int = 0  # slots with no finished execution, no slot record, or still in flight
    failed_by_crashes: int = 0  # slots whose executor died in every attempt: FAILED, as designed
    dead_lettered_slots: int = 0  # slot messages whose executor died on every receive; the watchdog ran them
    poison_dead_lettered: int = 0
    watchdog_runs: int = 0
    resent: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        crashes = ", ".join(f"{point} {n}" for point, n in sorted(self.injected.items())) or "none"
        return "\n".join(
            [
                f"seed {self.seed}: {self.slots} slots at concurrency {self.concurrency} in {self.seconds:.1f} s",
                f"faults injected ({sum(self.injected.values())}): {crashes}",
                f"watchdog runs {self.watchdog_runs}, slots re-sent {self.resent}",
                f"duplicates {self.duplicates}, lost {self.lost}",
                f"failed after every attempt crashed {self.failed_by_crashes}",
                f"DLQ: poison {self.poison_dead_lettered}, slot messages {self.dead_lettered_slots} (recovered)",
            ]
            + [f"PROBLEM: {p}" for p in self.problems]
        )


class ChaosRun:
    def __init__(self, harness: Harness, injector: FaultInjector, slots: int, concurrency: int, batch_size: int = 10):
        self.harness = harness
        self.injector = injector
        self.slots = [FIRST_SLOT + timedelta(hours=i) for i in range(slots)]
        self.concurrency = concurrency
        self.report = ChaosReport(injector.seed, slots, concurrency)
        self.key = TriggerKey(settings().tenant, NAMESPACE, FLOW_ID, TRIGGER_ID)
        queue = harness.queue_url
        handler = injector.executor(harness.executor_module.lambda_handler, harness.sqs, queue)
        self.poller = QueuePoller(
            harness.sqs,
            queue,
            harness.resources.queue_arns["WorkQueue"],
            handler,
            batch_size=batch_size,  # the template's is 1; more lets a crash land in the middle of a batch
            timeout_seconds=120,
            wait_seconds=0,
        )

    def run(self, poison: bool = True) -> ChaosReport:
        started = time.monotonic()
        answer = self.harness.call("POST", "/api/v1/flows", FLOW, "application/x-yaml")
        assert answer.status == 200, answer.raw
        if poison:
            self.harness.sqs.send_message(QueueUrl=self.harness.queue_url, MessageBody=POISON)
        self.backfill_id = self._create()
        self._drive()
        self.report.seconds = time.monotonic() - started
        self.report.injected = self.injector.injected
        self._verify(poison)
        return self.report

    def _create(self) -> str:
        """PUT /api/v1/triggers, itself exposed to faults: after a crash or an error, the backfill is
        looked up, and asked for again only if the call never wrote it."""
        body = {
            "namespace": NAMESPACE,
            "flowId": FLOW_ID,
            "triggerId": TRIGGER_ID,
            "backfill": {
                "start": format_date(self.slots[0]),
                "end": format_date(self.slots[-1]),
                "concurrency": self.concurrency,
            },
        }
        for _ in range(50):
            try:
                with self.injector.arming():
                    answer = self.harness.call("PUT", "/api/v1/triggers", body)
                if answer.status == 200:
                    return answer.body["backfill"]["id"]
            except (ProcessDied, Exception):  # noqa: BLE001 - the API function died or failed: look
                pass
            written = triggers_repository.backfills_of_trigger(self.key)
            if written:
                return written[0].id
        raise AssertionError(f"seed {self.injector.seed}: the backfill could not be created")

    def _backfill(self):
        return triggers_repository.get_backfill(self.key, self.backfill_id)

    def _watchdog(self) -> None:
        self.report.watchdog_runs += 1
        try:
            with self.injector.arming():
                answer = self.harness.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))
            self.report.resent += answer["resentSlots"]
        except (ProcessDied, Exception):  # noqa: BLE001 - the scheduler died; EventBridge runs it again
            pass

    def _drive(self) -> None:
        idle, best = 0, -1
        while idle < IDLE_WATCHDOG_LIMIT:
            with self.injector.arming():
                received = self.poller.poll_once()
                early = received and self.injector.fires("watchdog_early")
            if early:
                self._watchdog()
            if received:
                continue
            backfill = self._backfill()
            if backfill.settled and self.harness.queue_depth() == 0:
                return
            if not backfill.settled:
                self._watchdog()
                idle = 0 if backfill.ended > best else idle + 1
                best = max(best, backfill.ended)

    def _verify(self, poison: bool) -> None:
        report, problems = self.report, self.report.problems
        backfill = self._backfill()
        expected = {storage_key(slot) for slot in self.slots}
        executions = executions_repository.prior_executions(self.key.pk, self.slots[0], self.slots[-1])
        ours = {k: [e for e in v if e.backfill_id == self.backfill_id] for k, v in executions.items()}
        ends = slot_runs.slot_ends(backfill, self.slots[0], self.slots[-1])  # as the slots pages read them

        twice = {k for k, found in ours.items() if len(found) > 1}
        twice |= {
            k for k, found in ours.items() for e in found if self.injector.terminal_writes[e.id] > 1
        }  # one execution that ran to its end twice
        report.duplicates = len(twice)
        lost = set()
        for key in expected:
            found = ours.get(key, [])
            if not found or any(e.state not in ("SUCCESS", "FAILED") for e in found) or key not in ends:
                lost.add(key)
        lost |= set(backfill.inflight)
        report.lost = len(lost)
        if twice:
            problems.append(f"slots run twice: {sorted(twice)[:5]}")
        if lost:
            problems.append(f"slots lost or unfinished: {sorted(lost)[:5]}")
        if set(ours) - expected:
            problems.append(f"executions outside the range: {sorted(set(ours) - expected)[:5]}")

        by_state = Counter(found[0].state for found in ours.values() if found)
        recorded = Counter(end.state for end in ends.values())
        counters = {
            "succeeded": (backfill.succeeded, by_state["SUCCESS"], recorded["SUCCEEDED"]),
            "failed": (backfill.failed, by_state["FAILED"], recorded["FAILED"]),
            "skipped": (backfill.skipped, 0, recorded["SKIPPED"]),
            "cancelled": (backfill.cancelled, 0, recorded["CANCELLED"]),
        }
        for name, (counted, executed, paged) in counters.items():
            if not counted == executed == paged:
                problems.append(f"backfill counts {name}={counted}, executions say {executed}, slots pages {paged}")
        if backfill.dispatched != len(self.slots) or backfill.ended != len(self.slots):
            problems.append(f"dispatched {backfill.dispatched}, ended {backfill.ended} of {len(self.slots)} slots")
        want = "FAILED" if backfill.failed else "SUCCEEDED"
        if backfill.status != want or backfill.cursor is not None or backfill.retry:
            problems.append(f"backfill {backfill.status.value} with cursor {backfill.cursor}, expected {want}")

        for key, found in ours.items():
            for e in found:
                if e.state != "FAILED":
                    continue
                execution = executions_repository.get(e.id)
                if execution.attempt < settings().max_attempts:  # only a dead executor fails a Log task
                    problems.append(f"slot {key} FAILED after {execution.attempt} attempts")
                report.failed_by_crashes += 1

        for body in self._dead_letters():
            if body == POISON:
                report.poison_dead_lettered += 1
                continue
            try:
                message = SlotMessage.model_validate_json(body)
            except ValueError:
                problems.append(f"an unknown message in the DLQ: {body[:80]}")
                continue
            if message.backfill_id != self.backfill_id or storage_key(message.date) in lost:
                problems.append(f"a slot message in the DLQ that nothing recovered: {body[:120]}")
            report.dead_lettered_slots += 1
        if poison and report.poison_dead_lettered != 1:
            problems.append(f"the poison message is in the DLQ {report.poison_dead_lettered} times, not once")
        if self.harness.queue_depth():
            problems.append(f"{self.harness.queue_depth()} messages left on the work queue")

    def _dead_letters(self) -> list[str]:
        bodies, sqs, url = [], self.harness.sqs, self.harness.dlq_url
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
            if not got:
                return bodies
            bodies += [m["Body"] for m in got]
