"""Kestra's follow of an execution (server-sent events), within what one Lambda answer can do: API Gateway hands
a Lambda's answer over whole, never streamed, so the events are gathered for at most `seconds` and answered
together. Kestra's events: `progress` with the execution each time it changes, and `end` with it once it has
ended (an ended one: `end` alone). A follow whose execution has not ended by then ends after its last `progress`;
the client follows again (or reads GET /executions/{id})."""

import time
from collections.abc import Iterator

from backfill_core.errors import NotFound
from backfill_core.flows.execution import ENDED_STATES
from backfill_core.kestra_api import responses as answer
from backfill_core.kestra_api.kestra_json import execution_json
from backfill_core.storage import executions_repository

POLL_SECONDS = 0.5  # Kestra's own wait for an execution to appear polls this often


def follow(execution_id: str, seconds: float) -> Iterator[tuple[str, answer.Execution]]:
    """(event id, execution) pairs: `progress` for each state read, `end` for the ended one."""
    found = executions_repository.get(execution_id)
    if found is None:
        raise NotFound(f"Unable to find the execution {execution_id}")
    deadline = time.monotonic() + seconds
    seen = None
    while True:
        record = found.model_dump_json()
        if found.state.current in ENDED_STATES:
            if seen is not None:  # followed while it ran: its last change, then its end, as Kestra sends them
                yield "progress", execution_json(found)
            yield "end", execution_json(found)
            return
        if record != seen:
            seen = record
            yield "progress", execution_json(found)
        if time.monotonic() + POLL_SECONDS > deadline:
            return
        time.sleep(POLL_SECONDS)
        found = executions_repository.get(execution_id) or found
