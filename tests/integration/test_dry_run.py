"""POST /api/v1/backfills/dry-run: the count and the first and last pages, with nothing written."""

from tests.integration.test_seed_backfill import SEED_BODY, SEED_SLOTS


def test_dry_run_counts_and_pages_the_seed_window_without_writing(stack):
    answer = stack.call("POST", "/api/v1/backfills/dry-run?size=3", SEED_BODY)
    assert answer.status == 200, answer.raw
    plan = answer.body
    assert (plan["total"], plan["run"], plan["skipped"]) == (11, 11, 0)
    assert plan["firstPage"] == SEED_SLOTS[:3]
    assert plan["lastPage"] == SEED_SLOTS[-3:]
    assert stack.queue_depth() == 0
    assert stack.item_count("TriggersTable") == 0
    assert stack.item_count("ExecutionsTable") == 0


def test_dry_run_newest_first_and_a_big_range(stack):
    body = {
        **SEED_BODY,
        "backfill": {"start": "2015-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "order": "newest_first"},
    }
    plan = stack.call("POST", "/api/v1/main/backfills/dry-run?size=2", body).body
    assert plan["total"] == 3653 * 48 + 1
    assert plan["firstPage"] == ["2025-01-01T00:00:00Z", "2024-12-31T23:30:00Z"]
    assert plan["lastPage"] == ["2015-01-01T00:30:00Z", "2015-01-01T00:00:00Z"]


def test_dry_run_refuses_what_the_backfill_would_refuse(stack):
    bad = {**SEED_BODY, "backfill": {**SEED_BODY["backfill"], "start": "2024-03-29T00:00:00Z"}}
    answer = stack.call("POST", "/api/v1/backfills/dry-run", bad)
    assert answer.status == 422 and answer.message.startswith("backfill.start")
    answer = stack.call("POST", "/api/v1/backfills/dry-run", {**SEED_BODY, "flowId": "nope"})
    assert answer.status == 404
    answer = stack.call("POST", "/api/v1/backfills/dry-run?size=0", SEED_BODY)
    assert answer.status == 422 and "size" in answer.message
