"""An execution run by its id from the work queue (ExecutionMessage): a Subflow's child its parent does not wait
for; any execution created before its message was sent (a run started by hand, too). The record is the truth:
the attempt's lease lets one executor run it at a time, and one that ended is not run again. Its flow's
concurrency limit holds it as it holds a slot."""

from collections.abc import Callable

from aws_lambda_powertools import Logger

from backfill_core.flows.execution import ENDED_STATES
from backfill_core.slots.admitted import run_admitted
from backfill_core.slots.message import ExecutionMessage
from backfill_core.slots.subflows import chain_of
from backfill_core.storage import executions_repository, flows_repository

logger = Logger(child=True)


def run_execution(message: ExecutionMessage, budget_seconds: Callable[[], float]) -> None:
    """Raises SlotBusy when a live attempt holds the execution: the message comes back later."""
    found = executions_repository.get(message.execution_id)
    if found is None or found.tenant_id != message.tenant or found.deleted:
        logger.info("execution message dropped: no such execution", extra={"execution": message.execution_id})
        return
    if found.state.current in ENDED_STATES:
        return
    depth, from_caller = chain_of(found)
    stored = flows_repository.find(found.tenant_id, found.namespace, found.flow_id)
    run_admitted(message, found.id, stored, budget_seconds, from_caller=from_caller, depth=depth)
