"""Races: pause, unpause, cancel and concurrency changes fired at random (seeded) while two executor
pollers run backfills in threads. After a pause answers, at most the slots then running finish; after
unpause everything finishes, each slot once; after a cancel answers, only the slots then running finish;
and no sample ever sees more slots in flight than the concurrency allows."""

import random
import threading
import time
from datetime import timedelta

import pytest

from backfill_core.backfills.model import SlotState
from backfill_core.schedules.kestra_time import format_date
from backfill_core.storage import executions_repository, triggers_repository
from backfill_core.triggers.model import TriggerKey
from local.event_source import QueuePoller
from local.lambda_runtime import load_handler_module
from tests.chaos.scenario import FIRST_SLOT, FLOW, NAMESPACE, TRIGGER_ID
from tests.harness import Harness, wait_for

SLOTS = 300  # the backfill paused, resumed and resized
CANCELLED_SLOTS = 500  # the one cancelled part way: never more than a fraction of it runs
ACTIONS = 24
SETTLE_SECONDS = 300  # a guard against a hang, not a measure: 300 slots take over 60 s on a loaded machine


class Window:
    """The most slots a backfill may have in flight: its concurrency, or, just after a decrease, the
    slots already in flight then (they finish; nothing new goes out until they drop below)."""

    def __init__(self, concurrency: int):
        self.bound = concurrency

    def raising_to(self, concurrency: int) -> None:
        self.bound = max(self.bound, concurrency)  # before the change, so a sample never sees it early

    def changed(self, concurrency: int, answer: dict) -> None:
        counts = answer["counts"]
        self.bound = max(concurrency, counts["DISPATCHED"] + counts["RUNNING"] + counts["PARKED"])


class Sampler(threading.Thread):
    """Reads each backfill's record and its RUNNING executions, over and over, against its window."""

    def __init__(self, watched: dict[str, tuple[TriggerKey, Window]]):
        super().__init__(daemon=True)
        self.watched = watched
        self.stopping = threading.Event()
        self.samples = 0
        self.violations: list[str] = []
        self.peak: dict[str, int] = dict.fromkeys(watched, 0)

    def run(self) -> None:
        while not self.stopping.is_set():
            for backfill_id, (key, window) in self.watched.items():
                before = window.bound
                record = triggers_repository.get_backfill(key, backfill_id)
                running = sum(e.state == "RUNNING" for e in executions_of(key, backfill_id))
                allowed = max(before, window.bound)
                in_flight = len(record.inflight)
                self.peak[backfill_id] = max(self.peak[backfill_id], running)
                if in_flight > allowed or running > allowed:
                    self.violations.append(
                        f"{backfill_id}: {in_flight} in flight, {running} running, {allowed} allowed"
                    )
                self.samples += 1
            self.stopping.wait(0.02)


def settle(harness, condition, key, backfill_id: str, seed: str) -> None:
    """Wait for work in the executor threads; on a hang, say where the backfill stands and what failed."""
    try:
        wait_for(condition, SETTLE_SECONDS)
    except AssertionError:
        record = triggers_repository.get_backfill(key, backfill_id).model_dump_json(exclude={"labels", "inputs"})
        raise AssertionError(f"{seed}: stuck at {record}; failed records: {harness.failures[-5:]}") from None


def executions_of(key: TriggerKey, backfill_id: str):
    b = triggers_repository.get_backfill(key, backfill_id)
    found = executions_repository.prior_executions(key.pk, b.start, b.end)
    return [e for slot in found.values() for e in slot if e.backfill_id == backfill_id]


@pytest.fixture
def two_executors(aws):
    """The handlers against moto (its DynamoDB writes made atomic, as DynamoDB's are), two executor
    pollers in threads with the template's batch size, and two flows of one no-op Log task."""
    harness = Harness(aws)
    harness.failures = []
    for flow_id in ("noop", "other"):
        answer = harness.call("POST", "/api/v1/flows", FLOW.replace("id: noop", f"id: {flow_id}"), "application/x-yaml")
        assert answer.status == 200, answer.raw
    source = aws.work_queue_event_source()
    pollers = []
    for _ in range(2):
        executor = load_handler_module("executor")
        executor.record_handler = noting_failures(executor.record_handler, harness.failures)
        pollers.append(
            QueuePoller(
                harness.sqs,
                harness.queue_url,
                aws.queue_arns["WorkQueue"],
                executor.lambda_handler,
                batch_size=source["BatchSize"],
                timeout_seconds=120,
                wait_seconds=1,
            )
        )
    threads = [poller.start(f"executor-{n}") for n, poller in enumerate(pollers)]
    yield harness
    for poller in pollers:
        poller.stop()
    for thread in threads:
        thread.join()


def noting_failures(record_handler, failures: list[str]):
    """Keeps why a record failed (it comes back after the visibility timeout), to explain a hang."""

    def handle(record):
        try:
            return record_handler(record)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            raise

    return handle


def create(harness: Harness, flow_id: str, slots: int, concurrency: int) -> tuple[str, TriggerKey]:
    end = FIRST_SLOT + timedelta(hours=slots - 1)
    body = {
        "namespace": NAMESPACE,
        "flowId": flow_id,
        "triggerId": TRIGGER_ID,
        "backfill": {"start": format_date(FIRST_SLOT), "end": format_date(end), "concurrency": concurrency},
    }
    answer = harness.call("PUT", "/api/v1/triggers", body)
    assert answer.status == 200, answer.raw
    return answer.body["backfill"]["id"], TriggerKey("main", NAMESPACE, flow_id, TRIGGER_ID)


def ref(flow_id: str) -> dict:
    return {"namespace": NAMESPACE, "flowId": flow_id, "triggerId": TRIGGER_ID}


def ended(backfill: dict) -> int:
    return backfill["succeeded"] + backfill["failed"] + backfill["skipped"] + backfill["cancelled"]


def test_controls_fired_at_random_keep_the_window_and_run_each_slot_once(two_executors, chaos_seed):
    harness, rng = two_executors, random.Random(chaos_seed)
    seed = f"seed {chaos_seed}"
    concurrency = rng.randint(1, 5)
    main_id, main_key = create(harness, "noop", SLOTS, concurrency)
    doomed_id, doomed_key = create(harness, "other", CANCELLED_SLOTS, rng.randint(1, 3))
    windows = {main_id: Window(concurrency), doomed_id: Window(harness.backfill(doomed_id)["concurrency"])}
    sampler = Sampler({main_id: (main_key, windows[main_id]), doomed_id: (doomed_key, windows[doomed_id])})
    sampler.start()
    cancel_at = rng.randrange(ACTIONS // 2)
    paused = False
    try:
        for step in range(ACTIONS):
            time.sleep(rng.uniform(0, 0.3))
            if step == cancel_at:
                check_cancel(harness, doomed_id, doomed_key, seed)
            action = rng.choice(["pause", "unpause", "concurrency", "concurrency"])
            if action == "pause":
                answer = harness.call("PUT", "/api/v1/triggers/backfill/pause", ref("noop"))
                assert answer.status == 200, f"{seed}: {answer.raw}"
                check_pause(harness, answer.body["backfill"], main_id, main_key, seed)
                paused = True
            elif action == "unpause":
                assert harness.call("PUT", "/api/v1/triggers/backfill/unpause", ref("noop")).status == 200
                paused = False
            else:
                concurrency = rng.randint(1, 6)
                windows[main_id].raising_to(concurrency)
                answer = harness.call("PATCH", f"/api/v1/backfills/{main_id}", {"concurrency": concurrency})
                assert answer.status == 200, f"{seed}: {answer.raw}"
                windows[main_id].changed(concurrency, answer.body)
        assert harness.backfill(main_id)["status"] in ("RUNNING", "PAUSED"), f"{seed}: finished before the end"
        if paused:
            assert harness.call("PUT", "/api/v1/triggers/backfill/unpause", ref("noop")).status == 200
        settle(harness, lambda: harness.backfill(main_id)["status"] == "SUCCEEDED", main_key, main_id, seed)
    finally:
        sampler.stopping.set()
        sampler.join()

    assert sampler.samples and not sampler.violations, f"{seed}: {sampler.violations[:5]}"
    executions = executions_of(main_key, main_id)
    slots = [e.id for e in executions]
    assert len(slots) == len(set(slots)) == SLOTS, f"{seed}: {len(slots)} executions for {SLOTS} slots"
    assert all(e.state == "SUCCESS" for e in executions), seed
    assert all(executions_repository.get(e.id).attempt == 1 for e in executions), f"{seed}: a slot ran twice"
    done = harness.backfill(main_id)
    assert (done["succeeded"], done["failed"], done["cancelled"]) == (SLOTS, 0, 0), seed
    assert harness.queue_depth(harness.dlq_url) == 0, seed


def check_pause(harness: Harness, at_pause: dict, backfill_id: str, key, seed: str) -> None:
    """Once the slots running at the pause end and the messages sent before it arrive (and park),
    no more slots ended than were running, and no execution started."""

    def quiet() -> bool:
        b = triggers_repository.get_backfill(key, backfill_id)
        return not any(s.state in (SlotState.RUNNING, SlotState.DISPATCHED) for s in b.inflight.values())

    settle(harness, quiet, key, backfill_id, seed)
    now = harness.backfill(backfill_id)
    assert ended(now) - ended(at_pause) <= at_pause["counts"]["RUNNING"], f"{seed}: {now['counts']} after {at_pause}"
    executions = executions_of(key, backfill_id)
    assert len(executions) == now["succeeded"], f"{seed}: {len(executions)} executions, {now['succeeded']} ended"
    assert not [e for e in executions if e.state == "RUNNING"], seed


def check_cancel(harness: Harness, backfill_id: str, key, seed: str) -> None:
    """After a cancel answers, only the slots then running end; every other slot counts cancelled."""
    answer = harness.call("POST", f"/api/v1/backfills/{backfill_id}/cancel")
    assert answer.status == 200, f"{seed}: {answer.raw}"
    at_cancel = answer.body
    settle(harness, lambda: harness.backfill(backfill_id)["status"] == "CANCELLED", key, backfill_id, seed)
    done = harness.backfill(backfill_id)
    assert done["succeeded"] - at_cancel["succeeded"] <= at_cancel["counts"]["RUNNING"], f"{seed}: {done}"
    assert done["succeeded"] + done["cancelled"] == CANCELLED_SLOTS, f"{seed}: {done}"
    executions = executions_of(key, backfill_id)
    assert len(executions) == done["succeeded"], f"{seed}: {len(executions)} executions, {done['succeeded']} ran"
    assert all(e.state == "SUCCESS" for e in executions), seed
