"""Batch reads hand back the keys DynamoDB left unprocessed. Three of the four readers asked for them again at once, in
a loop with no wait and no end: under throttling they hammered the table until the function timed out."""

import pytest

from backfill_core.storage import batches


class HoldingBackTable:
    """A table of items keyed by pk that, for its first `refusals` calls, answers the first key asked and holds
    back the rest."""

    def __init__(self, pks: list[str], refusals: int):
        self.items = {pk: {"pk": {"S": pk}, "value": {"S": f"of {pk}"}} for pk in pks}
        self.refusals = refusals
        self.calls: list[int] = []

    def batch_get_item(self, RequestItems):  # noqa: N803 - botocore's name
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        self.calls.append(len(keys))
        answered, held = (keys[:1], keys[1:]) if self.refusals else (keys, [])
        self.refusals = max(self.refusals - 1, 0)
        left = {table: {**request, "Keys": held}} if held else {}
        return {"Responses": {table: [self.items[k["pk"]["S"]] for k in answered]}, "UnprocessedKeys": left}


def keys(n: int) -> list[dict]:
    return [{"pk": {"S": f"item-{i:03d}"}} for i in range(n)]


def test_a_batch_read_asks_again_for_what_was_held_back_after_growing_waits(monkeypatch, batch_waits):
    table = HoldingBackTable([f"item-{i:03d}" for i in range(150)], refusals=3)
    monkeypatch.setattr(batches, "dynamodb", lambda: table)

    found = batches.get_items("Table", keys(150), consistent=True)

    assert sorted(item["pk"]["S"] for item in found) == [f"item-{i:03d}" for i in range(150)]  # each once
    assert max(table.calls) == batches.BATCH_GET_KEYS  # DynamoDB's limit per call
    assert len(batch_waits) == 3 and batch_waits == sorted(batch_waits) and batch_waits[0] < batch_waits[-1]


def test_a_batch_read_held_back_past_its_retries_stops_naming_what_is_left(monkeypatch, batch_waits):
    table = HoldingBackTable([f"item-{i:03d}" for i in range(20)], refusals=1000)
    monkeypatch.setattr(batches, "dynamodb", lambda: table)

    with pytest.raises(batches.Unprocessed, match="held back 13 requests to Table"):
        batches.get_items("Table", keys(20), consistent=False)

    assert len(table.calls) == batches.UNPROCESSED_RETRIES + 1  # bounded
    assert sum(batch_waits) < 10  # seconds: within any invocation
