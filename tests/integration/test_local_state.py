"""The local stack's state directory (local/state.py): what moto acknowledged before the process was killed
is there after a restart, exactly, whether it was in the journal or already compacted into the snapshot."""

import os

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from local import state as local_state
from local.moto_thread_safety import observe, serialize_moto_requests
from local.state import StateDir
from tests.chaos.scenario import local_aws

TABLE = "TriggersTable"


def killed(state: StateDir) -> None:
    """What a SIGKILL leaves: the files as written so far, the lock released, nothing flushed or closed."""
    observe(None)
    os.close(state.journal_fd)
    os.close(state.lock_fd)


def everything() -> tuple[list[dict], dict[str, list[tuple[str, int]]]]:
    """Every item of every table (scanned), and each queue's messages with their receive counts, in order."""
    dynamodb = boto3.client("dynamodb")
    items = []
    for table in sorted(dynamodb.list_tables()["TableNames"]):
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        items += sorted((item for page in pages for item in page["Items"]), key=repr)
    backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    messages = {
        name: [(m.body, m.approximate_receive_count) for m in queue._messages] for name, queue in backend.queues.items()
    }
    return items, messages


def some_writes(queue_url: str) -> None:
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    for n in range(5):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{n}"}, "sk": {"S": "s"}, "v": {"N": "0"}})
    # A binary attribute, as an execution's compressed body is kept.
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "bin"}, "sk": {"S": "s"}, "z": {"B": b"\x00\xffzip"}})
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "p1"}, "sk": {"S": "s"}},
        UpdateExpression="SET v = v + :one",
        ConditionExpression="v = :zero",
        ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
    )
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "p2"}, "sk": {"S": "s"}})
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "sk": {"S": "s"}}}}]
    )
    dynamodb.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": {"pk": {"S": f"b{n}"}, "sk": {"S": "s"}}}} for n in range(3)]}
    )
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)])
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=2, VisibilityTimeout=720)["Messages"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received[0]["ReceiptHandle"])  # received[1] stays in flight


@pytest.fixture(autouse=True)
def serialized():
    serialize_moto_requests()
    yield
    observe(None)


def test_acknowledged_writes_survive_a_kill_and_a_record_cut_short_is_dropped(tmp_path):
    with local_aws({}) as resources:
        state = StateDir(tmp_path)
        assert not state.load().resumed
        some_writes(resources.queue_urls["WorkQueue"])
        before = everything()
        killed(state)
    with (tmp_path / f"journal-{state.generation}.jsonl").open("ab") as journal:
        journal.write(b'{"dynamodb":"PutItem","body":"{\\"TableName')  # the write the kill interrupted

    with local_aws({}) as resources:
        loaded = StateDir(tmp_path).load()
        assert (loaded.resumed, loaded.dropped_tail, loaded.replayed > 0) == (True, True, True)
        assert everything() == before
        assert before[1]["WorkQueue"] == [("m1", 1), ("m2", 0)]  # m0 deleted, m1 received and in flight
        # the message in flight at the kill is visible again at once (its receiver died with the process)
        got = boto3.client("sqs").receive_message(QueueUrl=resources.queue_urls["WorkQueue"], MaxNumberOfMessages=10)
        assert sorted(m["Body"] for m in got["Messages"]) == ["m1", "m2"]


def test_compacted_state_is_the_same_as_journaled_state(tmp_path, monkeypatch):
    monkeypatch.setattr(local_state, "COMPACT_AT_LEAST_BYTES", 0)  # compact whenever the journal outgrows the snapshot
    with local_aws({}) as resources:
        state = StateDir(tmp_path)
        state.load()
        some_writes(resources.queue_urls["WorkQueue"])
        generation = state.generation
        before = everything()
        killed(state)
    assert generation > 2  # compacted during the writes, not only at start
    with local_aws({}):
        loaded = StateDir(tmp_path).load()
        assert loaded.items > 0
        assert everything()[0] == before[0]


def test_a_message_dead_lettered_before_a_restart_stays_dead_lettered(tmp_path):
    with local_aws({}) as resources:
        state = StateDir(tmp_path)
        state.load()
        sqs, work = boto3.client("sqs"), resources.queue_urls["WorkQueue"]
        sqs.send_message(QueueUrl=work, MessageBody="poison")
        sqs.send_message(QueueUrl=work, MessageBody="other")
        for _ in range(6):  # maxReceiveCount is 5: the sixth receive moves "poison" to the dead-letter queue
            sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=1, VisibilityTimeout=0)
        killed(state)
    with local_aws({}):
        StateDir(tmp_path).load()
        _, messages = everything()
    assert (messages["WorkDeadLetterQueue"], messages["WorkQueue"]) == ([("poison", 5)], [("other", 1)])


def test_fresh_start_deletes_the_earlier_state_and_a_second_stack_is_refused(tmp_path):
    with local_aws({}) as resources:
        state = StateDir(tmp_path)
        state.load()
        some_writes(resources.queue_urls["WorkQueue"])
        with pytest.raises(local_state.StateError, match="in use by another local stack"):
            StateDir(tmp_path).lock()
        state.close()
    with local_aws({}):
        loaded = StateDir(tmp_path).load(fresh=True)
        assert (loaded.resumed, loaded.discarded) == (False, True)
        items, messages = everything()
    assert items == [] and all(found == [] for found in messages.values())


def test_a_restart_ends_the_leases_of_running_attempts_only(aws):
    """A resumed stack ends the leases its dead attempts held, so their slots go on at once as attempt 2;
    finished executions keep theirs (a count of them would claim runs were cut short that were not)."""
    from backfill_core.storage import executions_repository

    dynamodb, now = boto3.client("dynamodb"), 1_000_000.0
    for pk, state, lease in (("running", "RUNNING", now + 300), ("done", "SUCCESS", now + 300), ("old", "RUNNING", 5)):
        item = {"pk": {"S": pk}, "sk": {"S": "EXECUTION"}, "state": {"S": state}, "attempt": {"N": "1"}}
        dynamodb.put_item(TableName="ExecutionsTable", Item={**item, "leaseUntil": {"N": repr(lease)}})

    assert executions_repository.end_leases(now) == 1
    leases = {
        pk: float(
            dynamodb.get_item(TableName="ExecutionsTable", Key={"pk": {"S": pk}, "sk": {"S": "EXECUTION"}})["Item"][
                "leaseUntil"
            ]["N"]
        )
        for pk in ("running", "done", "old")
    }
    assert leases == {"running": now, "done": now + 300, "old": 5}


def test_a_restart_sends_again_the_slot_messages_the_kill_lost_and_only_those(stack):
    """A kill between the write that moved a lane and the send of its slot's message loses that message; the
    resumed stack sends it at once (resend_unqueued), not after SLOT_RESEND_SECONDS, and no slot twice."""
    from backfill_core.backfills.watchdog import resend_unqueued
    from backfill_core.slots.message import parse_work_message
    from tests.flows import QUICK, backfill_body

    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    answer = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z", concurrency=2)
    )
    assert answer.status == 200, answer.raw
    backfill_id = answer.body["backfill"]["id"]
    sqs = boto3.client("sqs")
    sent = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert len(sent) == 2  # one per lane
    kept, lost = sent
    sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=lost["ReceiptHandle"])  # never sent, as after the kill

    assert resend_unqueued([parse_work_message(kept["Body"])]) == 1
    queued = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert sorted(m["Body"] for m in queued) == sorted([kept["Body"], lost["Body"]])
    assert resend_unqueued([parse_work_message(m["Body"]) for m in queued]) == 0  # nothing lost: nothing sent

    stack.drain()
    done = stack.backfill(backfill_id)
    assert (done["status"], done["succeeded"]) == ("SUCCEEDED", 4)
    dates = [e["trigger"]["variables"]["date"] for e in stack.executions(namespace="tests", flowId="quick")]
    assert sorted(dates) == sorted(set(dates)) and len(dates) == 4
