"""What the local stack shows of operations, where on AWS EventBridge and CloudWatch would: one terminal line per
backfill lifecycle event the handlers publish, and the metrics they emit (Powertools' EMF documents, which on AWS
CloudWatch reads from the logs), kept and served on GET /local/metrics."""

import json
import threading
from collections.abc import Callable
from typing import Any

MAX_DOCUMENTS = 200  # the latest EMF documents kept for /local/metrics (the totals count them all)


class LifecycleEventPrinter:
    """Prints each backfill event EventBridge accepted: hooked on the process's botocore session, which the
    handlers' clients come from (backfill_core.aws_clients.session), so nothing in them knows."""

    def __init__(self, write: Callable[[str], None] = print):
        self.write = write

    def attach(self, session) -> None:
        """`session`: a botocore session (boto3's default session's `_session`)."""
        session.register("provide-client-params.eventbridge.PutEvents", self._remember)
        session.register("after-call.eventbridge.PutEvents", self._print)

    @staticmethod
    def _remember(params: dict, context: dict, **_: Any) -> None:
        context["local_entries"] = list(params.get("Entries", []))

    def _print(self, parsed: dict, context: dict, **_: Any) -> None:
        results = parsed.get("Entries") or []
        for number, entry in enumerate(context.get("local_entries", [])):
            if number < len(results) and results[number].get("ErrorCode"):
                continue
            self.write(event_line(entry))


def event_line(entry: dict) -> str:
    """One line: the event, its backfill, the trigger and the counts. `EVENT Backfill Created 01J... ...`"""
    detail = json.loads(entry.get("Detail") or "{}")
    trigger = ".".join(str(detail.get(k, "?")) for k in ("namespace", "flowId", "triggerId"))
    counts = " ".join(f"{name}={detail.get(name, 0)}" for name in ("succeeded", "failed", "skipped", "cancelled"))
    kind, backfill = entry.get("DetailType", "?"), detail.get("backfillId", "?")
    line = f"EVENT {kind} {backfill} {trigger} total={detail.get('total', 0)} {counts}"
    if detail.get("reason"):
        line += f" reason={detail['reason']!r}"
    return line


class MetricsStore:
    """The EMF documents the handlers flushed: the latest of them, and per metric its unit, how many values,
    their sum, minimum and maximum, and which services emitted it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.namespace: str | None = None
        self.totals: dict[str, dict[str, Any]] = {}
        self.documents: list[dict] = []

    def add(self, document: dict) -> None:
        directives = document.get("_aws", {}).get("CloudWatchMetrics", [])
        with self.lock:
            self.documents = [*self.documents, document][-MAX_DOCUMENTS:]
            for directive in directives:
                self.namespace = directive.get("Namespace", self.namespace)
                for metric in directive.get("Metrics", []):
                    name = metric["Name"]
                    values = document.get(name)
                    values = values if isinstance(values, list) else [values]
                    total = self.totals.setdefault(
                        name, {"unit": metric.get("Unit"), "count": 0, "sum": 0.0, "services": []}
                    )
                    total["count"] += len(values)
                    total["sum"] += sum(values)
                    total["min"] = min([*values, total.get("min", values[0])])
                    total["max"] = max([*values, total.get("max", values[0])])
                    service = document.get("service")
                    if service and service not in total["services"]:
                        total["services"].append(service)

    def answer(self) -> dict:
        with self.lock:
            return {"namespace": self.namespace, "metrics": dict(self.totals), "documents": list(self.documents)}


def capture_metrics(store: MetricsStore) -> None:
    """Powertools' EMF flush, made to hand each document to `store` instead of printing it (on Lambda the line
    goes to the log, where CloudWatch reads it; here the terminal would only scroll)."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    def flush_metrics(provider: AmazonCloudWatchEMFProvider, raise_on_empty_metrics: bool = False) -> None:
        if not provider.metric_set:
            if raise_on_empty_metrics:
                provider.serialize_metric_set()  # raises SchemaValidationError, as Powertools' flush does
            return
        store.add(provider.serialize_metric_set())
        provider.clear_metrics()

    AmazonCloudWatchEMFProvider.flush_metrics = flush_metrics  # type: ignore[method-assign]
