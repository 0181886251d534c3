"""The AWS-like bench (bench/aws_like.py) runs the real handlers on its in-memory DynamoDB and SQS: what it
answers is what the code needs (every slot runs once and succeeds), and what it counts adds up."""

import time

from backfill_core.backfills import changes
from bench.fake_aws.runner import AwsLike
from bench.fake_aws.service import Latency

SLOTS = 20


def test_the_fake_runs_every_slot_once_and_counts_calls_units_and_backoff():
    with AwsLike(Latency(0, 0, 0)) as bench:
        result = bench.run(SLOTS, concurrency=2, limit_seconds=60)
        found = bench.call("GET", f"/api/v1/executions/search?flowId={result['flow_id']}&size=100")
        assert bench.run(3, concurrency=1, limit_seconds=60)["succeeded"] == 3  # a second case after the first
    assert not result["capped"]
    assert result["state"]["status"] == "SUCCEEDED"
    assert result["succeeded"] == SLOTS
    executions = found["results"]
    assert len(executions) == SLOTS
    assert len({e["trigger"]["variables"]["date"] for e in executions}) == SLOTS
    assert {e["state"]["current"] for e in executions} == {"SUCCESS"}

    calls = result["calls"]
    assert calls[("poller", "sqs", "ReceiveMessage")] >= SLOTS  # one message a receive (template's batch size 1)
    assert calls[("poller", "sqs", "DeleteMessageBatch")] == SLOTS
    assert calls[("api", "dynamodb", "TransactWriteItems")] == 1
    assert calls[("executor", "dynamodb", "PutItem")] >= 2 * SLOTS  # the execution created, then saved
    assert result["invocations"].count >= SLOTS
    used = result["units"]
    assert 2 <= (used.write + used.index_write) / SLOTS <= 200
    assert used.index_write > 0  # the backfill record and the executions are on indexes
    assert 0 < used.read / SLOTS <= 50  # a slot reads almost nothing: its claim and finish answer what they wrote
    assert result["sqs_requests"] >= 2 * SLOTS  # a receive and a delete each, the sends of the next slots
    assert changes.time is time  # the bench's design clock is gone with it: production code untouched
