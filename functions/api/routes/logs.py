"""Kestra's log route: an execution's lines."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.kestra_api import searches
from backfill_core.kestra_api.responses import LogEntry
from routes.common import RecordIdParam, answers, size_with_page, tenant

router = Router()


@router.get("/logs/<execution_id>", responses=answers("The execution's log lines", 404))
def get_logs(
    execution_id: RecordIdParam,
    page: Annotated[int | None, Query(ge=1, description="ours: a page of the lines, with size")] = None,
    size: Annotated[
        int | None, Query(ge=1, le=searches.MAX_PAGE_SIZE, description="ours: lines per page; without it, every line")
    ] = None,
) -> list[LogEntry]:
    """Kestra's answer is every line, when they fit one answer (else a 422 naming size); page and size read
    the lines of a long execution a page at a time."""
    size_with_page(page, size)
    return searches.execution_logs(tenant(), execution_id, page, size)
