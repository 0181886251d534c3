"""maxSlotsPerMinute end to end through the API and the executor: every dispatch of a backfill (the first window,
each finished slot's successor, an unpause, a PATCH) is spaced so that no 60-second span holds more than the
limit; a message is delivered and its slot started no earlier than its dispatch time; the limit is shown, changed
and removed with PATCH, and a bad one is a 422 naming the field."""

import time
from datetime import datetime

import boto3
import pytest

from backfill_core.slots import runner
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import work_queue
from tests.flows import QUICK, backfill_body
from tests.unit.test_rate_limit import most_in_any_minute

HOURS_48 = ("2024-01-01T00:00:00Z", "2024-01-02T23:00:00Z")


@pytest.fixture
def quick(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


@pytest.fixture
def dispatches(monkeypatch) -> list[SlotMessage]:
    """Every slot message sent, with its dispatch time; delivered at once and run without waiting for that time,
    so that a test checks the pacing over hours in seconds."""
    sent: list[SlotMessage] = []
    real_send = work_queue.send

    def recorded(messages):
        sent.extend(m for m in messages if isinstance(m, SlotMessage))
        real_send(messages)

    monkeypatch.setattr(work_queue, "send", recorded)
    monkeypatch.setattr(work_queue, "_delay_of", lambda message: 0)
    monkeypatch.setattr(runner, "_wait_for_its_turn", lambda message: None)
    return sent


def dispatch_times_us(sent: list[SlotMessage]) -> list[int]:
    assert all(m.not_before is not None for m in sent)
    return [int(m.not_before.timestamp() * 1_000_000) for m in sent]  # type: ignore[union-attr]


def test_at_30_a_minute_no_60_second_span_dispatches_more_than_30(quick, dispatches):
    body = backfill_body("quick", *HOURS_48, concurrency=5, maxSlotsPerMinute=30)
    created = quick.call("PUT", "/api/v1/triggers", body)
    assert created.status == 200, created.raw
    backfill_id = created.body["backfill"]["id"]
    assert created.body["backfill"]["maxSlotsPerMinute"] == 30
    assert len(dispatches) == 5  # the first window: five lanes, two seconds apart

    quick.drain()
    done = quick.backfill(backfill_id)
    assert (done["status"], done["succeeded"], done["maxSlotsPerMinute"]) == ("SUCCEEDED", 48, 30)
    assert sorted(m.date for m in dispatches) == sorted({m.date for m in dispatches})  # each slot once
    times = dispatch_times_us(dispatches)
    assert len(times) == 48 and most_in_any_minute(times) == 30
    assert (max(times) - min(times)) / 1e6 == pytest.approx(47 * 2.0, abs=0.1)  # 48 slots: 47 spacings of 2 s


def test_a_patch_changes_the_limit_for_the_slots_dispatched_after_it_and_null_removes_it(quick, dispatches):
    body = backfill_body("quick", *HOURS_48, concurrency=1, maxSlotsPerMinute=6)
    backfill_id = quick.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    assert quick.poller().poll_once() == 1  # one slot, which sends the next

    faster = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"maxSlotsPerMinute": 60, "concurrency": 3})
    assert faster.status == 200, faster.raw
    assert faster.body["maxSlotsPerMinute"] == 60
    before = len(dispatches)
    assert before == 4  # the first, its successor, and the two lanes the wider window opened
    gaps = [b - a for a, b in zip(dispatch_times_us(dispatches), dispatch_times_us(dispatches)[1:], strict=False)]
    assert gaps[0] >= 10_000_000 and abs(gaps[-1] - 1_000_017) < 1000  # 6 a minute, then 60 (to the ms)

    removed = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", {"maxSlotsPerMinute": None})
    assert removed.status == 200 and removed.body["maxSlotsPerMinute"] is None
    quick.drain()
    assert quick.backfill(backfill_id)["succeeded"] == 48
    assert all(m.not_before is None for m in dispatches[before + 3 :])  # unlimited once the lanes in flight ended


@pytest.mark.parametrize(
    ("where", "body", "named"),
    [
        ("create", {"maxSlotsPerMinute": 0}, "maxSlotsPerMinute"),
        ("create", {"maxSlotsPerMinute": "fast"}, "maxSlotsPerMinute"),
        ("patch", {"maxSlotsPerMinute": -1}, "maxSlotsPerMinute"),
        ("patch", {"maxSlotsPerMinute": 2.5}, "maxSlotsPerMinute"),
    ],
)
def test_a_bad_limit_is_a_422_naming_it_and_changes_nothing(quick, where, body, named):
    if where == "create":
        answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *HOURS_48, **body))
        assert quick.queue_depth() == 0
    else:
        backfill_id = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *HOURS_48)).body["backfill"]["id"]
        answer = quick.call("PATCH", f"/api/v1/backfills/{backfill_id}", body)
        assert quick.backfill(backfill_id)["maxSlotsPerMinute"] is None
    assert answer.status == 422 and named in answer.message, answer.raw


def test_a_slot_starts_no_earlier_than_its_dispatch_time(quick):
    """Real time: at 120 a minute, the n-th slot is dispatched n half-seconds after the create, and starts no
    earlier, however fast the slots run; a message that comes before its time (sent again, or delayed past SQS's
    15 minutes) goes back to the queue."""
    body = backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z", concurrency=3, maxSlotsPerMinute=120)
    asked = time.time()
    backfill_id = quick.call("PUT", "/api/v1/triggers", body).body["backfill"]["id"]
    deadline = time.monotonic() + 30
    while quick.backfill(backfill_id)["status"] != "SUCCEEDED" and time.monotonic() < deadline:
        quick.drain()
        time.sleep(0.2)
    starts = sorted(e["state"]["startDate"] for e in quick.executions(namespace="tests", flowId="quick"))
    assert len(starts) == 6
    seconds = [datetime.fromisoformat(start).timestamp() for start in starts]
    assert all(started >= asked + n * 0.5 for n, started in enumerate(seconds)), (asked, starts)

    early = SlotMessage(
        tenant="main", namespace="tests", flow_id="quick", trigger_id="every_hour", backfill_id=backfill_id,
        date="2024-01-01T00:00:00Z", lane=0, position=0, not_before=time.time() + 600,
    )  # fmt: skip
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=quick.queue_url, MessageBody=early.model_dump_json(by_alias=True))
    assert quick.poller().poll_once() == 1
    attributes = sqs.get_queue_attributes(QueueUrl=quick.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # back in the queue, invisible till its time
