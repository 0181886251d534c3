"""Parallel branches and ForEach groups run as Kestra starts them: `limit` at once (all for 0), the next as one
ends, none after a failure (with a limit), those already started ending, nothing started after a kill. They run
in threads, at most MAX_BRANCH_THREADS of one execution at once; a concurrent flowable inside another's branch,
or inside a WorkingDirectory (one folder, one writer), runs its groups one after another in the same order."""

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from backfill_core.flows.execution import ExecutionState

WORST_FIRST = (ExecutionState.KILLED, ExecutionState.FAILED, ExecutionState.WARNING)
MAX_BRANCH_THREADS = 8  # Parallel branches or ForEach groups of one execution running at once
_branch = threading.local()


def worst(states: list[str]) -> str:
    return next((state for state in WORST_FIRST if state in states), ExecutionState.SUCCESS)


def windowed(groups: Sequence[Callable[[], str]], limit: int, killed: Callable[[], bool], one_folder: bool) -> str:
    """Groups started `limit` at a time (all for 0), the next as one ends; after a failure none starts (with a
    limit: without one Kestra has started them all already), those already started end; nothing starts after a
    kill. They run in threads, at most MAX_BRANCH_THREADS at once; nested concurrent flowables run their groups
    one after another inside their branch, in the same order, so one execution never holds more threads."""
    width = min(len(groups) if limit <= 0 else limit, MAX_BRANCH_THREADS)
    if width <= 1 or getattr(_branch, "inside", False) or one_folder:  # a WorkingDirectory: one writer
        return _one_after_another(groups, limit, killed)
    states: list[str] = []
    waiting = list(groups)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="branch") as pool:
        running = {_start(pool, waiting.pop(0)) for _ in range(min(width, len(waiting)))}
        while running:
            ended, running = wait(running, return_when=FIRST_COMPLETED)
            states += [future.result() for future in ended]
            stop = ExecutionState.KILLED in states or (ExecutionState.FAILED in states and limit > 0) or killed()
            while waiting and not stop and len(running) < width:
                running.add(_start(pool, waiting.pop(0)))
    if killed() and ExecutionState.KILLED not in states and waiting:
        states.append(ExecutionState.KILLED)
    return worst(states)


def _start(pool: ThreadPoolExecutor, group: Callable[[], str]) -> Future:
    """A group in a thread of the pool, seeing this thread's context (the secrets the execution may read). The next
    starts once this one's first task run is in the execution (or it ended without one), so the task run list holds
    the branches in the order Kestra creates them, not in the order their threads happened to run."""
    opened = threading.Event()
    future = pool.submit(contextvars.copy_context().run, _in_branch, group, opened)
    future.add_done_callback(lambda _: opened.set())
    opened.wait()
    return future


def _in_branch(group: Callable[[], str], opened: threading.Event) -> str:
    _branch.inside, _branch.opened = True, opened
    try:
        return group()
    finally:
        _branch.inside, _branch.opened = False, None


def task_run_added() -> None:
    """A task run joined the execution: in a branch, its first lets the next branch start (`_start`)."""
    opened = getattr(_branch, "opened", None)
    if opened is not None:
        opened.set()


def _one_after_another(groups: Sequence[Callable[[], str]], limit: int, killed: Callable[[], bool]) -> str:
    """The groups in the order Kestra starts them, one at a time, leaving the task runs Kestra leaves."""
    states: list[str] = []
    stop_at = len(groups)
    for index, group in enumerate(groups):
        if index >= stop_at:
            break
        if killed():
            states.append(ExecutionState.KILLED)
            break
        states.append(group())
        if states[-1] == ExecutionState.KILLED:
            break
        if states[-1] == ExecutionState.FAILED and limit > 0:
            stop_at = min(stop_at, index + limit)
    return worst(states)
