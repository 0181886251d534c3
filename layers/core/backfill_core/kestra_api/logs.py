"""Kestra's log routes, the read side: an execution's lines narrowed as Kestra's parameters say, the search across
executions, and the text download."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from backfill_core.errors import Invalid
from backfill_core.flows.tasks.core import LogLevel
from backfill_core.kestra_api import responses as answer
from backfill_core.kestra_api.filter_fields import Op
from backfill_core.kestra_api.filters import Filter, QueryFilter, duration, matches
from backfill_core.kestra_api.kestra_json import log_entry_json
from backfill_core.kestra_api.searches import bounded, page_of, tenant_execution, window
from backfill_core.schedules.kestra_time import now, parse_instant
from backfill_core.storage import execution_logs as log_items
from backfill_core.storage import executions_search

RANK = {level: rank for rank, level in enumerate(LogLevel)}
LOG_SORT_FIELDS = ("timestamp", "level", "namespace", "flowId", "taskId", "executionId")


@dataclass(frozen=True)
class LineFilter:
    """Kestra's narrowing of an execution's lines: the least level shown, a task run, a task, an attempt."""

    min_level: LogLevel | None = None
    task_run_id: str | None = None
    task_id: str | None = None
    attempt: int | None = None

    def keeps(self, entry: dict[str, Any]) -> bool:
        if self.min_level and RANK.get(entry.get("level"), len(RANK)) < RANK[self.min_level]:  # type: ignore[arg-type]
            return False
        if self.task_run_id is not None and entry.get("taskRunId") != self.task_run_id:
            return False
        if self.task_id is not None and entry.get("taskId") != self.task_id:
            return False
        return self.attempt is None or entry.get("attemptNumber") == self.attempt


def lines(tenant: str, execution_id: str, narrowed: LineFilter) -> Iterator[dict[str, Any]]:
    tenant_execution(tenant, execution_id)  # another tenant's is not found
    return (entry for entry in log_items.logs(execution_id) if narrowed.keeps(entry))


def execution_logs(
    tenant: str, execution_id: str, narrowed: LineFilter, page: int | None = None, size: int | None = None
) -> list[answer.LogEntry]:
    """Kestra's answer is every line kept, when they fit one answer; page and size read a long one in pages."""
    return bounded(log_entry_json(entry) for entry in window(lines(tenant, execution_id, narrowed), page, size))


MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024  # Lambda's 6 MB answer, with room for its envelope


def download(tenant: str, execution_id: str, narrowed: LineFilter) -> str:
    """Kestra's download: one line per entry, `timestamp level message`."""
    text, size = [], 0
    for entry in lines(tenant, execution_id, narrowed):
        line = f"{entry.get('timestamp')} {entry.get('level')} {entry.get('message')}\n"
        size += len(line.encode())
        if size > MAX_DOWNLOAD_BYTES:
            raise Invalid(
                f"minLevel: the lines take more than the {MAX_DOWNLOAD_BYTES:,} bytes one answer may carry; narrow "
                "them (minLevel, taskId, taskRunId, attempt) or read them a page at a time from GET /logs/{executionId}"
            )
        text.append(line)
    return "".join(text)


@dataclass(frozen=True)
class LogSearch:
    """Kestra's log search parameters (the legacy ones; `filters[...]` reach the same fields)."""

    namespace: str | None = None
    flow_id: str | None = None
    trigger_id: str | None = None
    min_level: LogLevel | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    query: str | None = None

    def keeps(self, entry: dict[str, Any]) -> bool:
        if not LineFilter(min_level=self.min_level).keeps(entry):
            return False
        if self.trigger_id is not None and entry.get("triggerId") != self.trigger_id:
            return False
        when = parse_instant(entry["timestamp"])
        if (self.start_date and when < self.start_date) or (self.end_date and when > self.end_date):
            return False
        return not self.query or any(self.query.lower() in text.lower() for text in _texts(entry))


# What Kestra's full-text search of a log line reads (its logs table's fulltext column).
TEXT_FIELDS = ("namespace", "flowId", "taskId", "executionId", "taskRunId", "triggerId", "message")


def _texts(entry: dict[str, Any]) -> list[str]:
    return [str(entry[field]) for field in TEXT_FIELDS if entry.get(field) is not None]


def line_holds(entry: dict[str, Any], at: datetime, one: QueryFilter) -> bool:
    """What each of Kestra's log filters means for one line: startDate and endDate both bound its timestamp
    (Kestra's log repository), timeRange is its timestamp within so long before now, and level EQUALS (or
    GREATER_THAN_OR_EQUAL_TO) keeps that level and the more severe ones, NOT_EQUALS the others, and
    LESS_THAN_OR_EQUAL_TO that level and the less severe."""
    match one.field:
        case "q":
            return one.query(*_texts(entry))
        case "scope":
            return one.scope(entry["namespace"])
        case "namespace" | "flowId" | "triggerId" | "executionId":
            return one.text(entry.get(one.field))
        case "level":
            rank, bound = RANK.get(entry.get("level"), -1), RANK[LogLevel(str(one.value))]  # type: ignore[arg-type]
            if one.operation is Op.LESS_THAN_OR_EQUAL_TO:
                return 0 <= rank <= bound
            return (rank >= bound) == (one.operation is not Op.NOT_EQUALS)
        case "startDate" | "endDate":
            return one.date(parse_instant(entry["timestamp"]))
        case "timeRange":
            return parse_instant(entry["timestamp"]) >= at - duration(one.key, str(one.value))
    raise Invalid(f"{one.key}: not supported")


def _sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
    if field == "timestamp":
        return lambda entry: parse_instant(entry["timestamp"])
    if field == "level":
        return lambda entry: RANK.get(entry.get("level"), len(RANK))  # type: ignore[arg-type]
    return lambda entry: entry.get(field) or ""


def search_logs(
    tenant: str, search: LogSearch, page: int, size: int, sort: Iterable[str], filters: Sequence[Filter] = ()
) -> answer.LogPage:
    """Every line of the tenant's executions that the search and Kestra's filters keep, newest first unless
    `sort` says otherwise. Lines are kept per execution, so a search reads the lines of every execution of its
    namespace and flow."""
    at = now()
    found = [
        entry
        for execution in executions_search.by_flow(tenant, search.namespace, search.flow_id)
        for entry in log_items.logs(execution.id)
        if search.keeps(entry) and matches(filters, partial(line_holds, entry, at))
    ]
    orders = list(sort) or ["timestamp:desc"]
    for order in reversed(orders):  # the first order is the main one: sorted last (sorts are stable)
        field, _, direction = order.partition(":")
        if field not in LOG_SORT_FIELDS:
            raise Invalid(f"sort: '{field}' is not a sort field of logs; use one of {', '.join(LOG_SORT_FIELDS)}")
        if direction not in ("", "asc", "desc"):
            raise Invalid(f"sort: '{order}' must be field:asc or field:desc")
        found.sort(key=_sort_key(field), reverse=direction == "desc")
    return page_of(answer.LogPage, [log_entry_json(entry) for entry in found], page, size)
