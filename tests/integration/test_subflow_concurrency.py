"""A Subflow's child is an execution of its flow like any other, so the child flow's `concurrency` holds it too:
a child its parent waits for (run inside the parent's attempt) takes a place or, with the flow full, ends as
`behavior` says, waiting QUEUED in the parent while it has time; a child not waited for waits on the queue as a
slot does."""

import threading
import time

import pytest

from backfill_core.storage import concurrency_repository
from tests.integration.test_subflows import CHILD, backfill, fetched, messages, parent, register, runs_of

OTHER = "another-execution-of-child"


def limited_child(behavior: str) -> str:
    return CHILD.replace("labels:\n", f"concurrency:\n  limit: 1\n  behavior: {behavior}\nlabels:\n", 1)


def hold_the_only_place(seconds: float = 600.0) -> str:
    """Another execution of the child flow holds its one place, with a live lease."""
    key = concurrency_repository.flow_key("main", "tests", "child")
    now = time.time()
    assert concurrency_repository.take_place(key, 0, OTHER, now + seconds, now)
    return key


@pytest.mark.parametrize("behavior", ["FAIL", "CANCEL"])
def test_a_waited_for_child_of_a_full_flow_ends_as_its_behavior_says_and_its_parent_with_it(stack, behavior):
    register(stack, limited_child(behavior), parent())
    hold_the_only_place()
    backfill(stack)
    stack.drain()

    child, parent_run = fetched(stack, "child"), fetched(stack, "parent")
    ended = {"FAIL": "FAILED", "CANCEL": "CANCELLED"}[behavior]
    assert child["state"]["current"] == ended and child["taskRunList"] == []
    # Kestra's rule (ExecutableUtils.guessState): a FAILED child fails the task, a CANCELLED one does not.
    assert runs_of(parent_run)["call"]["state"]["current"] == {"FAIL": "FAILED", "CANCEL": "SUCCESS"}[behavior]
    assert runs_of(parent_run)["call"]["outputs"]["state"] == ended
    if behavior == "FAIL":
        assert "Flow is FAILED due to concurrency limit exceeded" in messages(stack, child)


def test_a_waited_for_child_waits_queued_inside_its_parent_until_a_place_frees(stack):
    register(stack, limited_child("QUEUE"), parent())
    key = hold_the_only_place()
    threading.Timer(1.5, concurrency_repository.give_back, (key, 0, OTHER)).start()
    backfill(stack)
    stack.drain()

    child, parent_run = fetched(stack, "child"), fetched(stack, "parent")
    assert [h["state"] for h in child["state"]["histories"]][:3] == ["CREATED", "QUEUED", "RUNNING"]
    assert child["state"]["current"] == "SUCCESS" and parent_run["state"]["current"] == "SUCCESS"
    assert concurrency_repository.places(key) == []  # given back once it ended


def test_a_waited_for_child_fails_saying_so_when_its_parent_has_no_time_left_to_wait(stack, set_setting):
    register(stack, limited_child("QUEUE"), parent())
    hold_the_only_place()
    set_setting("TASK_TIMEOUT_SECONDS", "1")  # no budget worth waiting in
    backfill(stack)
    stack.drain()

    child = fetched(stack, "child")
    assert child["state"]["current"] == "FAILED"
    assert any("stayed at its concurrency limit of 1" in line for line in messages(stack, child))


def test_a_child_not_waited_for_waits_on_the_queue_and_runs_once_a_place_frees(stack, set_setting):
    set_setting("CONCURRENCY_RECHECK_SECONDS", "1")
    register(stack, limited_child("QUEUE"), parent("    wait: false\n"))
    key = hold_the_only_place()
    backfill(stack)
    stack.poller().poll_once()  # the parent's slot: it ends at once
    stack.poller().poll_once()  # the child's message: the flow is full, it waits
    assert fetched(stack, "child")["state"]["current"] == "QUEUED"

    concurrency_repository.give_back(key, 0, OTHER)
    time.sleep(1.2)  # the re-sent message's delay
    stack.drain()
    assert fetched(stack, "child")["state"]["current"] == "SUCCESS"
