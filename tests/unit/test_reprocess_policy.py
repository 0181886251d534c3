"""The reprocess policy's verdict on one slot, from the executions that already exist for it."""

import pytest

from backfill_core.backfills.reprocess import PriorExecution, skip_reason


def prior(execution_id: str, state: str, created: str, backfill_id: str | None = None) -> PriorExecution:
    return PriorExecution(execution_id, state, created, backfill_id)


def test_all_runs_every_slot_whatever_ran_before():
    assert skip_reason("all", [prior("a", "SUCCESS", "1")]) is None


@pytest.mark.parametrize("policy", ["all", "failed", "missing"])
def test_a_slot_that_never_ran_runs(policy):
    assert skip_reason(policy, []) is None


def test_failed_skips_a_slot_whose_latest_execution_succeeded_and_names_it():
    reason, execution = skip_reason("failed", [prior("old", "FAILED", "1"), prior("new", "SUCCESS", "2", "bf")])
    assert execution == "new"
    assert reason.startswith("ALREADY_SUCCEEDED") and "backfill bf" in reason


def test_failed_runs_a_slot_whose_latest_execution_failed_even_after_an_earlier_success():
    assert skip_reason("failed", [prior("old", "SUCCESS", "1"), prior("new", "FAILED", "2")]) is None


def test_failed_runs_a_slot_still_running():
    assert skip_reason("failed", [prior("live", "RUNNING", "1")]) is None


@pytest.mark.parametrize("state", ["RUNNING", "FAILED", "SUCCESS", "KILLED"])
def test_missing_skips_a_slot_with_any_execution(state):
    reason, execution = skip_reason("missing", [prior("x", state, "1")])
    assert execution == "x" and reason.startswith("ALREADY_EXECUTED") and state in reason
    assert "live schedule" in reason
