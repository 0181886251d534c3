"""The backfills' CloudWatch metrics, as Powertools' embedded metric format (EMF) log lines in the namespace
POWERTOOLS_METRICS_NAMESPACE (template.yaml: KestraBackfills). Each is added where the domain knows the thing
happened once (a slot counted by the write that counted it, a backfill's end stored by the write that stored it),
and written at the end of the handler's invocation (`flushed_by`).

Powertools keeps one metric set per process, so the instance here and a handler's share it; a slot's metrics
carry its backfill's id as metadata (a property of the log line, not a dimension, so each backfill costs no
metric of its own), which the dashboard's Logs Insights widget groups by.
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

Handler = TypeVar("Handler", bound=Callable[..., Any])

# A slot's outcome (backfills.model.SlotOutcome, a str) -> the metric counting it.
SLOT_COUNTS = {
    "SUCCEEDED": "SlotsSucceeded",
    "FAILED": "SlotsFailed",
    "SKIPPED": "SlotsSkipped",
    "CANCELLED": "SlotsCancelled",
}
SLOT_DURATION = "SlotDuration"
DISPATCH_LAG = "DispatchLag"
BACKFILLS_CREATED = "BackfillsCreated"
BACKFILLS_ENDED = "BackfillsEnded"

_metrics = Metrics()


def slot_ended(backfill_id: str, outcome: str, seconds: float | None = None) -> None:
    """A slot counted in its backfill, and how long its execution ran (none for a skipped slot)."""
    _metrics.add_metadata(key="backfill_id", value=backfill_id)
    _metrics.add_metric(name=SLOT_COUNTS[outcome], unit=MetricUnit.Count, value=1)
    if seconds is not None:
        _metrics.add_metric(name=SLOT_DURATION, unit=MetricUnit.Seconds, value=max(seconds, 0.0))


def slot_received(seconds: float) -> None:
    """How long a slot's message waited in the work queue before an executor received it."""
    _metrics.add_metric(name=DISPATCH_LAG, unit=MetricUnit.Seconds, value=max(seconds, 0.0))


def backfill_created() -> None:
    _metrics.add_metric(name=BACKFILLS_CREATED, unit=MetricUnit.Count, value=1)


def backfill_ended() -> None:
    _metrics.add_metric(name=BACKFILLS_ENDED, unit=MetricUnit.Count, value=1)


def flushed_by(handler_metrics: Metrics) -> Callable[[Handler], Handler]:
    """Write what the invocation added at its end, with the handler's dimensions (its service), as Powertools'
    `log_metrics` does, but say nothing when it added none (most API calls): `log_metrics` warns on each."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def invoke(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            finally:
                if handler_metrics.metric_set:
                    handler_metrics.flush_metrics()

        return invoke  # type: ignore[return-value]

    return decorate
