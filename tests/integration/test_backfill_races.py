"""Races and late messages around the backfill controls, found by review: each replays the interleaving
that once broke a rule (never two overlapping backfills running, never a slot run twice, counts that add
up, a kill that lands)."""

import threading
from collections import Counter

from backfill_core.backfills import commands, slot_runs
from backfill_core.backfills import slots as backfill_slots
from backfill_core.backfills.model import SlotOutcome
from backfill_core.flows import task_run as task_run_module
from backfill_core.slots.message import SlotMessage
from backfill_core.storage import executions_repository, triggers_repository
from tests.flows import backfill_body, sleeper
from tests.harness import wait_for

DAY = ("2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z")
ODD_PAIR = ("2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z")  # 01:00 fails, 02:00 succeeds

LOG_THEN_SLEEP = """
id: two
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: hi
  - id: second
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 5
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""


def test_a_kill_requested_while_an_earlier_task_runs_is_not_erased_by_its_save(stack, monkeypatch):
    assert stack.call("POST", "/api/v1/flows", LOG_THEN_SLEEP, "application/x-yaml").status == 200
    stack.call("PUT", "/api/v1/triggers", backfill_body("two", DAY[0], DAY[0]))
    real = task_run_module.run_task

    def run_task(task_type, props, log, budget, killed=lambda: False, **ids):
        if task_type.endswith("Log"):
            [running] = stack.executions(namespace="tests", state="RUNNING")
            assert stack.call("DELETE", f"/api/v1/executions/{running['id']}/kill").status == 202
        return real(task_type, props, log, budget, killed, **ids)

    monkeypatch.setattr(task_run_module, "run_task", run_task)
    stack.drain()
    [execution] = stack.executions(namespace="tests")
    assert execution["state"]["current"] == "KILLED"
    assert [t["state"]["current"] for t in execution["taskRunList"]] == ["SUCCESS"]  # the sleep never started


def test_a_cancelling_backfill_blocks_an_overlapping_one_until_its_slots_end(stack):
    assert stack.call("POST", "/api/v1/flows", sleeper(3), "application/x-yaml").status == 200
    first = stack.call("PUT", "/api/v1/triggers", backfill_body("sleeper", *DAY)).body["backfill"]["id"]
    worker = threading.Thread(target=stack.poller().poll_once)
    worker.start()
    wait_for(lambda: stack.executions(namespace="tests", state="RUNNING"))
    assert stack.call("POST", f"/api/v1/backfills/{first}/cancel").body["status"] == "CANCELLING"
    refused = stack.call("PUT", "/api/v1/triggers", backfill_body("sleeper", *DAY))
    assert refused.status == 409 and first in refused.message and "CANCELLING" in refused.message
    worker.join()
    assert stack.call("PUT", "/api/v1/triggers", backfill_body("sleeper", *DAY)).status == 200


def test_retry_failed_racing_the_last_slot_never_runs_beside_an_overlapping_backfill(flaky_flow, monkeypatch):
    stack = flaky_flow
    first = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.poller().poll_once()  # 01:00 fails; 02:00 is in flight
    real = slot_runs.failed_slot_keys
    created = {}

    def read_keys_then_interleave(*args):
        keys = real(*args)
        if not created:
            stack.drain()  # the last slot ends: the backfill settles FAILED
            answer = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR))
            assert answer.status == 200, answer.raw
            created["id"] = answer.body["backfill"]["id"]
        return keys

    monkeypatch.setattr(slot_runs, "failed_slot_keys", read_keys_then_interleave)
    answer = stack.call("POST", f"/api/v1/backfills/{first}/retry-failed")
    assert answer.status == 409 and created["id"] in answer.message
    assert stack.backfill(first)["status"] == "FAILED"


def test_retry_failed_of_a_deleted_flows_backfill_is_not_found_and_changes_nothing(flaky_flow):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.drain()
    assert stack.call("DELETE", "/api/v1/flows/tests/flaky").status == 204
    answer = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert answer.status == 404 and "flaky" in answer.message
    assert stack.backfill(backfill_id)["status"] == "FAILED"


def test_a_late_end_of_an_earlier_round_does_not_end_the_retry(flaky_flow, marker):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", ODD_PAIR[0], ODD_PAIR[0])).body[
        "backfill"
    ]["id"]
    stack.drain()
    marker.touch()
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 1
    b = triggers_repository.backfill_by_id(backfill_id)
    late = SlotMessage(
        tenant=b.tenant,
        namespace=b.namespace,
        flow_id=b.flow_id,
        trigger_id=b.trigger_id,
        backfill_id=backfill_id,
        date=b.start,
        lane=0,
        position=0,
    )  # round 0's copy, stalled since before the retry
    backfill_slots.finish_slot(late, SlotOutcome.FAILED)
    stack.drain()
    done = stack.backfill(backfill_id)
    assert (done["status"], done["succeeded"], done["failed"]) == ("SUCCEEDED", 1, 0)
    [slot] = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots").body["results"]
    assert slot["state"] == "SUCCEEDED"  # round 1's execution, not round 0's FAILED one


def test_a_stale_list_of_failed_slots_never_reruns_one_that_succeeded(flaky_flow, marker, monkeypatch):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.drain()
    marker.touch()
    stale = slot_runs.failed_slot_keys(triggers_repository.backfill_by_id(backfill_id), 0, 1000, set())
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 1
    stack.drain()
    monkeypatch.setattr(slot_runs, "failed_slot_keys", lambda *args: stale)
    again = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert again.status == 200 and again.body["retried"] == 0
    assert stack.backfill(backfill_id)["failed"] == 0
    assert len(stack.executions(namespace="tests")) == 3  # two slots, one retried once


def test_an_index_that_lags_a_retried_slot_never_reruns_it(flaky_flow, marker, monkeypatch):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *ODD_PAIR)).body["backfill"]["id"]
    stack.drain()
    first_round = {e["id"] for e in stack.executions(namespace="tests")}
    marker.touch()
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 1
    stack.drain()
    real = executions_repository.prior_executions

    def lagging(*args, **kwargs):  # the BySlot index does not show round 1's execution yet
        found = real(*args, **kwargs)
        return {slot: [run for run in runs if run.id in first_round] for slot, runs in found.items()}

    monkeypatch.setattr(executions_repository, "prior_executions", lagging)
    again = stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed")
    assert again.status == 200 and again.body["retried"] == 0
    assert stack.backfill(backfill_id)["failed"] == 0
    assert len(stack.executions(namespace="tests")) == 3  # two slots, one retried once


def test_cancel_during_a_retry_round_keeps_counts_and_slots_in_step(flaky_flow):
    stack = flaky_flow
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY)).body["backfill"]["id"]
    stack.drain()
    assert stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] == 5
    cancelled = stack.call("POST", f"/api/v1/backfills/{backfill_id}/cancel").body
    slots = stack.call("GET", f"/api/v1/backfills/{backfill_id}/slots").body["results"]
    on_page = Counter(s["state"] for s in slots)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["counts"]["FAILED"] == on_page["FAILED"] == 5
    assert cancelled["counts"]["CANCELLED"] == on_page["CANCELLED"] == 0


def test_a_retry_batch_passes_over_slots_already_queued(flaky_flow, monkeypatch):
    stack = flaky_flow
    monkeypatch.setattr(commands, "RETRY_BATCH", 2)
    backfill_id = stack.call("PUT", "/api/v1/triggers", backfill_body("flaky", *DAY)).body["backfill"]["id"]
    stack.drain()
    retried = [stack.call("POST", f"/api/v1/backfills/{backfill_id}/retry-failed").body["retried"] for _ in range(4)]
    assert retried == [2, 2, 1, 0]  # five failed slots, two a call, none twice
