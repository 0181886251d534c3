"""Log lines go to DynamoDB in BatchWriteItem calls, which under throttling hand back what they did not write.
Those were sent again at once, in a loop with no wait and no end: a throttled table was hammered, and a flush
could spin for as long as the throttling lasted."""

import pytest

from backfill_core.storage import batches
from backfill_core.storage.execution_logs import LogsNotWritten, append_logs

LINES = [(f"2024-01-01T00:00:00Z#001#{n:06d}", {"message": f"line {n}"}) for n in range(30)]


class ThrottledTable:
    """A table that holds back every item of the first `refusals` calls, then writes all it is given."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.calls = 0
        self.written: list[str] = []

    def batch_write_item(self, RequestItems):  # noqa: N803 - botocore's name
        self.calls += 1
        if self.refusals:
            self.refusals -= 1
            return {"UnprocessedItems": RequestItems}
        self.written += [r["PutRequest"]["Item"]["sk"]["S"] for items in RequestItems.values() for r in items]
        return {"UnprocessedItems": {}}


def test_append_logs_backs_off_between_retries_of_unprocessed_items(monkeypatch, batch_waits):
    table = ThrottledTable(refusals=4)
    monkeypatch.setattr(batches, "dynamodb", lambda: table)

    append_logs("execution-1", LINES)

    assert sorted(table.written) == sorted(f"LOG#{suffix}" for suffix, _ in LINES)  # every line, once
    assert len(batch_waits) == 4  # one wait before each retry, none before the first send
    assert all(w > 0 for w in batch_waits)
    assert batch_waits == sorted(batch_waits) and batch_waits[-1] > batch_waits[0]  # growing


def test_append_logs_throttled_past_its_retries_raises_naming_the_execution(monkeypatch, batch_waits):
    table = ThrottledTable(refusals=1000)
    monkeypatch.setattr(batches, "dynamodb", lambda: table)

    with pytest.raises(LogsNotWritten, match="25 log lines of execution execution-2"):
        append_logs("execution-2", LINES)

    assert table.calls == batches.UNPROCESSED_RETRIES + 1  # bounded: it stops
    assert max(batch_waits) <= batches.UNPROCESSED_BACKOFF_CAP_SECONDS
    assert sum(batch_waits) < 10  # a flush gives up in seconds, within the executor's invocation
