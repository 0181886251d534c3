"""The backfills' CloudWatch metrics, as Powertools' embedded metric format (EMF) log lines in the namespace
POWERTOOLS_METRICS_NAMESPACE (template.yaml: KestraBackfills). Each is added where the domain knows the thing
happened once (a slot counted by the write that counted it, a backfill's end stored by the write that stored it),
and written at the end of the handler's invocation (`flushed_by`).

Powertools keeps one metric set per process, so the instance here and a handler's share it; a slot's metrics
carry its backfill's id as metadata (a property of the log line, not a dimension, so each backfill costs no
metric of its own), which the dashboard's Logs Insights widget groups by. Adds and flushes take one lock: on
Lambda a process runs one invocation at a time, but the local stack and the tests run executors in threads of
one process, and a flush reading the set while another thread adds to it fails.
"""

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

Handler = TypeVar("Handler", bound=Callable[..., Any])

SLOT_DURATION = "SlotDuration"
DISPATCH_LAG = "DispatchLag"
BACKFILLS_CREATED = "BackfillsCreated"
BACKFILLS_ENDED = "BackfillsEnded"
SLOT_MESSAGES_LET_GO = "SlotMessagesLetGo"

_metrics = Metrics()
_lock = threading.Lock()


def _count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, backfill_id: str | None = None) -> None:
    with _lock:
        if backfill_id is not None:
            _metrics.add_metadata(key="backfill_id", value=backfill_id)
        _metrics.add_metric(name=name, unit=unit, value=value)


def slot_ended(backfill_id: str, counter: str) -> None:
    """A slot counted in its backfill as it ended, by the progress counter it went to (`succeeded`, `failed`,
    `skipped`, `cancelled`): the metric SlotsSucceeded, SlotsFailed and so on."""
    _count(f"Slots{counter.capitalize()}", backfill_id=backfill_id)


def slot_ran(backfill_id: str, seconds: float) -> None:
    """How long a slot's execution ran."""
    _count(SLOT_DURATION, max(seconds, 0.0), MetricUnit.Seconds, backfill_id)


def slot_received(seconds: float) -> None:
    """How long a slot's message waited in the work queue before an executor received it."""
    _count(DISPATCH_LAG, max(seconds, 0.0), MetricUnit.Seconds)


def slot_message_let_go() -> None:
    """A backfill slot's message failed on its last receive and was let go for the watchdog to send again."""
    _count(SLOT_MESSAGES_LET_GO)


def backfill_created() -> None:
    _count(BACKFILLS_CREATED)


def backfill_ended() -> None:
    _count(BACKFILLS_ENDED)


def flushed_by(handler_metrics: Metrics) -> Callable[[Handler], Handler]:
    """Write what the invocation added at its end, with the handler's dimensions (its service), as Powertools'
    `log_metrics` does, but say nothing when it added none (most API calls): `log_metrics` warns on each."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def invoke(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            finally:
                with _lock:
                    if handler_metrics.metric_set:
                        handler_metrics.flush_metrics()

        return invoke  # type: ignore[return-value]

    return decorate
