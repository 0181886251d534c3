"""No backfill outlives its flow, or starts from a revision that is gone: a flow deleted or updated between
a create's (or a retry's) checks and its write, and a backfill started between a flow delete's listing and
its delete. Each test injects the change at that exact point."""

import pytest

from backfill_core.backfills import slot_runs, watchdog
from backfill_core.storage import flows_repository, triggers_repository
from tests.flows import QUICK, backfill_body

TWO_SLOTS = ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
ODD_PAIR = ("2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z")  # the flaky flow: 01:00 fails, 02:00 succeeds


@pytest.fixture
def quick(stack):
    assert stack.call("POST", "/api/v1/flows", QUICK, "application/x-yaml").status == 200
    return stack


def before_first_call(monkeypatch, module, name: str, change) -> list:
    """Run `change` once, just before the first call of `module.name` (the write after the checks)."""
    real, done = getattr(module, name), []

    def interleaved(*args, **kwargs):
        if not done:
            done.append(change())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interleaved)
    return done


def update_quick(stack, yaml: str) -> None:
    answer = stack.call("PUT", "/api/v1/flows/tests/quick", yaml, "application/x-yaml")
    assert answer.status == 200, answer.raw


def assert_nothing_left(stack) -> None:
    assert triggers_repository.backfills_of_tenant("main") == []
    assert stack.queue_depth() == 0


def test_a_flow_deleted_between_a_creates_checks_and_its_write_leaves_no_orphan_backfill(quick, monkeypatch):
    changed = before_first_call(
        monkeypatch,
        triggers_repository,
        "create_backfill",
        lambda: quick.call("DELETE", "/api/v1/flows/tests/quick").status,
    )
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS))
    assert changed == [204]
    assert answer.status == 404 and "quick" in answer.message
    assert_nothing_left(quick)


def test_a_trigger_removed_between_a_creates_checks_and_its_write_is_not_found_and_leaves_nothing(quick, monkeypatch):
    without_trigger = QUICK[: QUICK.index("triggers:")]
    before_first_call(monkeypatch, triggers_repository, "create_backfill", lambda: update_quick(quick, without_trigger))
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS))
    assert answer.status == 404 and "every_hour" in answer.message
    assert_nothing_left(quick)


def test_a_trigger_disabled_between_a_creates_checks_and_its_write_is_refused_and_leaves_nothing(quick, monkeypatch):
    disabled = QUICK.replace('cron: "0 * * * *"', 'cron: "0 * * * *"\n    disabled: true')
    before_first_call(monkeypatch, triggers_repository, "create_backfill", lambda: update_quick(quick, disabled))
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS))
    assert answer.status == 409 and "disabled" in answer.message
    assert_nothing_left(quick)


def test_a_cron_changed_between_a_creates_checks_and_its_write_is_backfilled_on_the_new_cron(quick, monkeypatch):
    half_hourly = QUICK.replace('cron: "0 * * * *"', 'cron: "*/30 * * * *"')
    before_first_call(monkeypatch, triggers_repository, "create_backfill", lambda: update_quick(quick, half_hourly))
    answer = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS))
    assert answer.status == 200, answer.raw
    [backfill] = triggers_repository.backfills_of_tenant("main")
    assert (backfill.cron, backfill.total) == ("*/30 * * * *", 3)  # 00:00, 00:30, 01:00
    quick.drain()
    assert len(quick.executions(namespace="tests", flowId="quick", state="SUCCESS")) == 3


def test_retry_failed_racing_a_flow_delete_does_not_reopen_a_backfill_of_the_deleted_flow(flaky_flow, monkeypatch):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.drain()
    before_first_call(
        monkeypatch,
        slot_runs,
        "failed_slot_keys",
        lambda: stack.call("DELETE", "/api/v1/flows/tests/flaky").status,
    )
    answer = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert answer.status == 404 and "flaky" in answer.message
    assert stack.backfill(backfill_id)["status"] == "FAILED"
    assert triggers_repository.running_backfills() == []
    assert stack.queue_depth() == 0


def test_a_backfill_created_while_its_flow_is_deleted_is_cancelled_with_the_flow(quick, monkeypatch):
    created = before_first_call(
        monkeypatch,
        flows_repository,
        "delete",
        lambda: quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)),
    )
    assert quick.call("DELETE", "/api/v1/flows/tests/quick").status == 204
    [answer] = created
    assert answer.status == 200, answer.raw
    assert quick.backfill(answer.body["backfill"]["id"])["status"] == "CANCELLED"
    assert triggers_repository.running_backfills() == []
    quick.drain()
    assert quick.executions(namespace="tests", flowId="quick") == []


def test_a_retry_started_while_its_flow_is_deleted_is_cancelled_with_the_flow(flaky_flow, monkeypatch):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.drain()
    retried = before_first_call(
        monkeypatch,
        flows_repository,
        "delete",
        lambda: stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed"),
    )
    assert stack.call("DELETE", "/api/v1/flows/tests/flaky").status == 204
    assert retried[0].status == 200 and retried[0].body["retried"] == 1
    assert stack.backfill(backfill_id)["status"] == "CANCELLED"
    assert triggers_repository.running_backfills() == []
    stack.drain()
    assert len(stack.executions(namespace="tests", flowId="flaky")) == 2  # the retry never ran


def test_a_backfill_whose_trigger_an_update_removed_is_cancelled_once_its_flow_is_deleted(quick):
    backfill_id = quick.call("PUT", "/api/v1/triggers", backfill_body("quick", *TWO_SLOTS)).body["backfill"]["id"]
    update_quick(quick, QUICK[: QUICK.index("triggers:")])
    assert quick.call("DELETE", "/api/v1/flows/tests/quick").status == 204
    watchdog.resend_stale_slots()  # the watchdog's minute
    assert quick.backfill(backfill_id)["status"] == "CANCELLED"
    assert triggers_repository.running_backfills() == []
    quick.drain()
    assert quick.executions(namespace="tests", flowId="quick") == []
