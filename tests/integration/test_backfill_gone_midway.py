"""A backfill found by id, then deleted (its flow deleted) before the change was written: cancel, PATCH and
retry-failed went on with nothing and answered 500 (or a null backfill). Now each is a 404 naming it."""

import pytest

from backfill_core.storage import backfill_items
from tests.flows import QUICK, backfill_body


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [("POST", "/cancel", None), ("PATCH", "", {"concurrency": 2}), ("POST", "/retry-failed", None)],
)
def test_a_backfill_deleted_between_its_lookup_and_its_change_is_a_404(stack, monkeypatch, method, action, body):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    answer = stack.call(
        "PUT", "/api/v1/triggers", backfill_body("quick", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")
    )
    backfill_id = answer.body["backfill"]["id"]
    found = backfill_items.get
    reads: list[str] = []

    def deleted_after_the_lookup(pk, backfill_id):
        reads.append(backfill_id)
        return found(pk, backfill_id) if len(reads) == 1 else None

    monkeypatch.setattr(backfill_items, "get", deleted_after_the_lookup)

    answer = stack.call(method, f"/api/v1/backfills/{backfill_id}{action}", body)

    assert answer.status == 404, answer.raw
    assert backfill_id in answer.message
    assert len(reads) > 1  # found, then gone when the change read it again
