"""An execution's attempt behind its flow's concurrency limit, whatever message brings it: a backfill slot, a live
slot, or an execution run by id (a Subflow's child its parent does not wait for). The place is taken before the
attempt and given back once it ends (slots/concurrency.py says how waiting and crashes are handled)."""

from collections.abc import Callable

from backfill_core.flows.execution import ENDED_STATES, Execution
from backfill_core.flows.stored import StoredFlow
from backfill_core.slots import concurrency, subflows
from backfill_core.slots.attempts import end_without_running, run_attempt, take_attempt
from backfill_core.slots.concurrency import Admission
from backfill_core.slots.message import WorkMessage


def run_admitted(
    message: WorkMessage,
    execution_id: str,
    stored: StoredFlow | None,
    budget_seconds: Callable[[], float],
    problem: str | None = None,
    *,
    from_caller: bool,
    depth: int = 0,
    started: Execution | None = None,
    on_start: Callable[[], None] | None = None,
) -> tuple[Execution, bool] | None:
    """The execution once ended, and whether this call ended it; None while it waits for a place under its
    flow's concurrency limit, or when a newer attempt took it over. `depth` and `from_caller` place it in its
    chain of subflows (0 and whether a backfill started it, for a slot). `started`: the execution as this call
    created it, RUNNING in its first attempt (its flow has no concurrency limit), which it runs as it is. `on_start`:
    called once the attempt may run (it holds its place), before the flow runs."""
    held = None
    if started is not None:
        execution, ended_here = started, False
    else:
        admission, execution, held = concurrency.admit(message, execution_id, stored.flow if stored else None)
        if admission == Admission.WAITING:
            return None
        if admission != Admission.RUN:
            return end_without_running(execution, admission.value), True
        execution, ended_here = take_attempt(execution_id)
    if execution.state.current not in ENDED_STATES:
        if on_start is not None:
            on_start()
        ran = run_attempt(
            execution,
            stored,
            budget_seconds,
            problem,
            subflows=subflows.starter(execution, budget_seconds, depth, from_caller),
            from_caller=from_caller,
            renew=held.renew if held else None,
        )
        if ran is None:
            return None
        execution, ended_here = ran, True
    if held:
        held.give_back()
    return execution, ended_here
