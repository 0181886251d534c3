"""Pause, unpause and delete (cancel) of a running backfill, Kestra's routes."""

import threading
import time

from tests.flows import QUICK, SLOW, backfill_body, ref

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")  # 11 hourly slots


def register(stack, *flows):
    for flow in flows:
        assert stack.call("POST", "/api/v1/flows", flow, "application/x-yaml").status == 200


def slot_dates(stack, flow_id):
    return sorted(e["trigger"]["variables"]["date"] for e in stack.executions(namespace="tests", flowId=flow_id))


def test_pause_parks_the_next_slot_and_unpause_runs_it_first(stack):
    register(stack, QUICK)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).status == 200
    stack.poller().poll_once()  # runs 00:00 and dispatches 01:00
    paused = stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    assert paused.status == 200
    assert paused.body["backfill"]["paused"] is True

    stack.drain()  # the 01:00 message arrives while paused: parked, not run
    assert slot_dates(stack, "quick") == ["2024-01-01T00:00:00Z"]
    assert stack.queue_depth() == 0
    trigger = stack.call("GET", "/api/v1/triggers/search?namespace=tests&flowId=quick").body["results"][0]
    assert trigger["triggerContext"]["backfill"]["currentDate"] == "2024-01-01T01:00:00Z"

    unpaused = stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick"))
    assert unpaused.status == 200
    assert unpaused.body["backfill"]["paused"] is False
    stack.drain()
    assert slot_dates(stack, "quick") == [f"2024-01-01T{h:02d}:00:00Z" for h in range(11)]
    assert all(e["state"]["current"] == "SUCCESS" for e in stack.executions(namespace="tests"))


def test_pause_while_a_slot_runs_lets_only_that_slot_finish(stack):
    register(stack, SLOW)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("slow", *DAY)).status == 200
    worker = threading.Thread(target=stack.poller().poll_once)
    worker.start()
    deadline = time.monotonic() + 10
    while not stack.executions(namespace="tests", state="RUNNING"):
        assert time.monotonic() < deadline, "the first slot never started"
        time.sleep(0.05)
    assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("slow")).status == 200
    worker.join()
    stack.drain()
    executions = stack.executions(namespace="tests")
    assert [e["state"]["current"] for e in executions] == ["SUCCESS"]

    assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("slow")).status == 200
    stack.drain()
    assert len(slot_dates(stack, "slow")) == 11


def test_delete_stops_dispatch_and_leaves_no_further_execution(stack):
    register(stack, QUICK)
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).status == 200
    stack.poller().poll_once()
    stack.poller().poll_once()
    deleted = stack.call("POST", "/api/v1/triggers/backfill/delete", ref("quick"))
    assert deleted.status == 200
    assert deleted.body["backfill"] is None
    stack.drain()
    assert slot_dates(stack, "quick") == ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"]
    assert stack.queue_depth() == 0
    # Deleted means gone: a second delete finds nothing, and a new backfill may start.
    again = stack.call("POST", "/api/v1/triggers/backfill/delete", ref("quick"))
    assert (again.status, again.message) == (400, "No backfill found")
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY)).status == 200


def test_delete_while_paused_cancels_the_parked_slot(stack):
    register(stack, QUICK)
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY))
    stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick"))
    stack.drain()  # 00:00 parks
    assert stack.call("POST", "/api/v1/triggers/backfill/delete", ref("quick")).status == 200
    stack.drain()
    assert slot_dates(stack, "quick") == []


def test_pause_twice_and_unpause_twice_are_harmless(stack):
    register(stack, QUICK)
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY))
    for _ in range(2):
        assert stack.call("PUT", "/api/v1/triggers/backfill/pause", ref("quick")).status == 200
    for _ in range(2):
        assert stack.call("PUT", "/api/v1/triggers/backfill/unpause", ref("quick")).status == 200
    stack.drain()
    assert len(slot_dates(stack, "quick")) == 11


def test_redelivered_and_duplicated_messages_run_nothing_twice(stack):
    register(stack, QUICK)
    stack.call("PUT", "/api/v1/triggers", backfill_body("quick", *DAY))
    # Copy every message once more before the executor sees it (SQS delivers at least once).
    poller = stack.poller()
    for _ in range(40):
        got = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for message in got:
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"])
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"])
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
        poller.poll_once()
    stack.drain()
    dates = slot_dates(stack, "quick")
    assert dates == sorted(set(dates))
    assert len(dates) == 11
    assert all(e["attempt"] == 1 for e in stack.executions(namespace="tests"))
