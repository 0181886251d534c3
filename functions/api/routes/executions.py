"""Kestra's execution routes: search, read, kill, and its internal-storage files."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.flows.execution import ExecutionState
from backfill_core.kestra_api import searches
from backfill_core.kestra_api.execution_files import execution_file
from backfill_core.kestra_api.filter_fields import EXECUTION_FIELDS, DateFilter
from backfill_core.kestra_api.responses import Execution, PagedResults
from backfill_core.storage import executions_repository
from routes.common import FlowIdQuery, NamespaceQuery, RecordIdParam, answers, query_filters, takes_filters, tenant

router = Router()


@router.get("/executions/search", responses=answers("A page of executions", 422))
@takes_filters
def search_executions(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter name
    state: Annotated[list[ExecutionState] | None, Query()] = None,
    labels: Annotated[list[str] | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=searches.MAX_PAGE_SIZE)] = 25,
    sort: Annotated[str | None, Query()] = None,
    dateFilter: Annotated[DateFilter, Query()] = DateFilter.START_DATE,  # noqa: N803 - Kestra 2.0's name
) -> PagedResults[Execution]:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above."""
    found = query_filters(router, EXECUTION_FIELDS)
    return searches.search_executions(
        tenant(), namespace, flowId, state or [], labels or [], page, size, sort, found, dateFilter
    )


@router.get("/executions/<execution_id>", responses=answers("The execution", 404))
def get_execution(execution_id: RecordIdParam) -> Execution:
    return searches.execution(tenant(), execution_id)


@router.delete("/executions/<execution_id>/kill", responses=answers("Kill requested", 404, status=202, body=False))
def kill_execution(execution_id: RecordIdParam):
    """Kestra's kill: the attempt running the execution stops its task and ends it KILLED."""
    searches.tenant_execution(tenant(), execution_id)  # 404 when the tenant has no such execution
    executions_repository.request_kill(execution_id)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body="")


FILE_ANSWERS = answers("The file's bytes (application/octet-stream)", 404)
FILE_ANSWERS[200]["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.get("/executions/<execution_id>/file", responses=FILE_ANSWERS)
def download_execution_file(
    execution_id: RecordIdParam,
    path: Annotated[str, Query(max_length=2048, description="The internal storage URI (kestra:///...)")],
):
    """Kestra's file download: one of the execution's internal-storage files, as an attachment. On AWS, ask
    for it with `Accept: application/octet-stream` (API Gateway then answers the bytes rather than base64)."""
    name, body = execution_file(tenant(), execution_id, path)
    disposition = 'attachment; filename="' + name.replace('"', "") + '"'
    return Response(
        status_code=HTTPStatus.OK,
        content_type="application/octet-stream",
        body=body,
        headers={"Content-Disposition": disposition},
    )
