"""Kestra's log routes: an execution's lines (narrowed as Kestra's parameters say), their download as text, and
the search across executions."""

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Invalid
from backfill_core.flows.tasks.core import LogLevel
from backfill_core.kestra_api.filter_fields import LOG_FIELDS
from backfill_core.kestra_api.responses import LogEntry, LogPage
from routes.common import (
    MAX_PAGE_SIZE,
    FlowIdQuery,
    NamespaceQuery,
    RecordIdParam,
    TriggerIdQuery,
    answers,
    query_filters,
    size_with_page,
    takes_filters,
    tenant,
)

router = Router()

MinLevel = Annotated[LogLevel | None, Query(description="The least level shown: TRACE, DEBUG, INFO, WARN or ERROR")]
TaskRunId = Annotated[str | None, Query(max_length=100)]
TaskId = Annotated[str | None, Query(max_length=150)]
Attempt = Annotated[int | None, Query(ge=0, description="The attempt number")]


@router.get("/logs/search", responses=answers("A page of log lines", 422))
@takes_filters
def search_logs(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter names
    triggerId: TriggerIdQuery = None,  # noqa: N803
    minLevel: MinLevel = None,  # noqa: N803
    startDate: Annotated[datetime | None, Query(description="lines at or after")] = None,  # noqa: N803
    endDate: Annotated[datetime | None, Query(description="lines at or before")] = None,  # noqa: N803
    q: Annotated[str | None, Query(max_length=200, description="a piece of the message or of an id")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    sort: Annotated[list[str] | None, Query(description="field:asc or field:desc; timestamp:desc by default")] = None,
) -> LogPage:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above."""
    from backfill_core.kestra_api import logs

    found = query_filters(router, LOG_FIELDS)
    for field, value in (("startDate", startDate), ("endDate", endDate)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{field}: give a time zone or offset (e.g. 2024-01-01T00:00:00Z)")
    search = logs.LogSearch(namespace, flowId, triggerId, minLevel, startDate, endDate, q)
    return logs.search_logs(tenant(), search, page, size, sort or [], found)


@router.get("/logs/<execution_id>", responses=answers("The execution's log lines", 404))
def get_logs(
    execution_id: RecordIdParam,
    minLevel: MinLevel = None,  # noqa: N803 - Kestra's parameter names
    taskRunId: TaskRunId = None,  # noqa: N803
    taskId: TaskId = None,  # noqa: N803
    attempt: Attempt = None,
    page: Annotated[int | None, Query(ge=1, description="ours: a page of the lines, with size")] = None,
    size: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="ours: lines per page; without it, every line")
    ] = None,
) -> list[LogEntry]:
    """Kestra's answer is every line kept, when they fit one answer (else a 422 naming size); page and size read
    the lines of a long execution a page at a time."""
    from backfill_core.kestra_api import logs

    size_with_page(page, size)
    return logs.execution_logs(
        tenant(), execution_id, logs.LineFilter(minLevel, taskRunId, taskId, attempt), page, size
    )


TEXT_ANSWERS = answers("The lines as text, `timestamp level message` each", 404)
TEXT_ANSWERS[200]["content"] = {"text/plain": {"schema": {"type": "string"}}}


@router.get("/logs/<execution_id>/download", responses=TEXT_ANSWERS)
def download_logs(
    execution_id: RecordIdParam,
    minLevel: MinLevel = None,  # noqa: N803 - Kestra's parameter names
    taskRunId: TaskRunId = None,  # noqa: N803
    taskId: TaskId = None,  # noqa: N803
    attempt: Attempt = None,
):
    """Kestra's download: the lines as a text attachment named after the execution."""
    from backfill_core.kestra_api import logs

    text = logs.download(tenant(), execution_id, logs.LineFilter(minLevel, taskRunId, taskId, attempt))
    return Response(
        status_code=HTTPStatus.OK,
        content_type="text/plain",
        body=text,
        headers={"Content-Disposition": f'attachment; filename="{execution_id}.log"'},
    )
