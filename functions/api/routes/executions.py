"""Kestra's execution routes: search, read, kill, and its internal-storage files."""

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Invalid
from backfill_core.flows.execution import ExecutionState
from backfill_core.kestra_api.filter_fields import EXECUTION_FIELDS, DateFilter
from backfill_core.kestra_api.responses import Execution, PagedResults
from routes.common import (
    MAX_PAGE_SIZE,
    FlowIdQuery,
    KillCascade,
    NamespaceQuery,
    RecordIdParam,
    answers,
    query_filters,
    refuse_no_cascade,
    takes_filters,
    tenant,
)

router = Router()
MAX_QUERY = 200  # characters of `q`


@router.get("/executions/search", responses=answers("A page of executions", 422))
@takes_filters
def search_executions(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter names
    state: Annotated[list[ExecutionState] | None, Query()] = None,
    labels: Annotated[list[str] | None, Query(description="'key:value', each")] = None,
    q: Annotated[
        str | None, Query(max_length=MAX_QUERY, description="a piece of the id, namespace, flow or a label")
    ] = None,
    startDate: Annotated[datetime | None, Query(description="started at or after")] = None,  # noqa: N803
    endDate: Annotated[datetime | None, Query(description="ended at or before")] = None,  # noqa: N803
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    sort: Annotated[list[str] | None, Query(description="field:asc or field:desc, each; the first sorts first")] = None,
    dateFilter: Annotated[DateFilter, Query()] = DateFilter.START_DATE,  # noqa: N803 - Kestra 2.0's name
) -> PagedResults[Execution]:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above."""
    from backfill_core.kestra_api import execution_search

    found = query_filters(router, EXECUTION_FIELDS)
    search = execution_search.ExecutionSearch(
        namespace, flowId, state or [], labels or [], q, _aware(startDate, "startDate"), _aware(endDate, "endDate")
    )
    return execution_search.search_executions(tenant(), search, page, size, sort or [], found, dateFilter)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(f"{field}: give a time zone or offset (e.g. 2024-01-01T00:00:00Z)")
    return value


@router.get("/executions/<execution_id>", responses=answers("The execution", 404))
def get_execution(execution_id: RecordIdParam) -> Execution:
    from backfill_core.kestra_api import searches

    return searches.execution(tenant(), execution_id)


@router.delete("/executions/<execution_id>/kill", responses=answers("Kill requested", 404, status=202, body=False))
def kill_execution(execution_id: RecordIdParam, isOnKillCascade: KillCascade = True):  # noqa: N803
    """Kestra's kill: the attempt running the execution stops its task and ends it KILLED."""
    from backfill_core.kestra_api import searches
    from backfill_core.storage import executions_repository

    refuse_no_cascade(isOnKillCascade)
    searches.tenant_execution(tenant(), execution_id)  # 404 when the tenant has no such execution
    executions_repository.request_kill(execution_id)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body="")


FOLLOW_SECONDS = 20.0  # under API Gateway's 29 s: the events gathered before the answer goes
FOLLOW_ANSWERS = answers("Kestra's events, `progress` then `end`, each with the execution as `data`", 404)
FOLLOW_ANSWERS[200]["content"] = {"text/event-stream": {"schema": {"$ref": "#/components/schemas/Execution"}}}


@router.get("/executions/<execution_id>/follow", responses=FOLLOW_ANSWERS)
def follow_execution(execution_id: RecordIdParam):
    """Kestra's follow, as server-sent events. API Gateway answers a Lambda whole, so the events are gathered until
    the execution ends or FOLLOW_SECONDS pass, then answered together; without an `end` event, follow again."""
    from backfill_core.kestra_api.follow import follow

    events = list(follow(execution_id, FOLLOW_SECONDS))
    body = "".join(f"id: {kind}\ndata: {execution.model_dump_json(by_alias=True)}\n\n" for kind, execution in events)
    return Response(
        status_code=HTTPStatus.OK, content_type="text/event-stream", body=body, headers={"Cache-Control": "no-cache"}
    )


FILE_ANSWERS = answers("The file's bytes (application/octet-stream)", 404)
FILE_ANSWERS[200]["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.get("/executions/<execution_id>/file", responses=FILE_ANSWERS)
def download_execution_file(
    execution_id: RecordIdParam,
    path: Annotated[str, Query(max_length=2048, description="The internal storage URI (kestra:///...)")],
):
    """Kestra's file download: one of the execution's internal-storage files, as an attachment. On AWS, ask
    for it with `Accept: application/octet-stream` (API Gateway then answers the bytes rather than base64)."""
    from backfill_core.kestra_api.execution_files import execution_file

    name, body = execution_file(tenant(), execution_id, path)
    disposition = 'attachment; filename="' + name.replace('"', "") + '"'
    return Response(
        status_code=HTTPStatus.OK,
        content_type="application/octet-stream",
        body=body,
        headers={"Content-Disposition": disposition},
    )
