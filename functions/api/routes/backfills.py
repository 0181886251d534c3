"""Backfills, our resource beside Kestra's trigger routes: list, dry-run, read, change, cancel, retry, slots."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.backfills.model import BackfillShown, SlotShown
from backfill_core.kestra_api.dry_run_answers import DryRunResult
from backfill_core.kestra_api.filter_fields import BACKFILL_FIELDS
from backfill_core.kestra_api.requests import BackfillCancel, BackfillChange, DryRun
from backfill_core.kestra_api.responses import BackfillResource, PagedResults, RetryFailedResult, Slot
from routes.common import (
    MAX_PAGE_SIZE,
    MAX_SLOTS_PAGE_SIZE,
    FlowIdQuery,
    NamespaceQuery,
    RecordIdParam,
    TriggerIdQuery,
    answers,
    query_filters,
    takes_filters,
    tenant,
)

router = Router()


@router.get("/backfills", responses=answers("A page of backfills, newest first", 422))
@takes_filters
def list_backfills(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter names
    triggerId: TriggerIdQuery = None,  # noqa: N803
    status: Annotated[BackfillShown | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
) -> PagedResults[BackfillResource]:
    """Kestra's trigger filters too, on each backfill's trigger (README, "Query filters")."""
    from backfill_core.backfills import queries
    from backfill_core.kestra_api import searches
    from backfill_core.kestra_api.kestra_json import backfill_resource_json

    filters = query_filters(router, BACKFILL_FIELDS)
    found = queries.list_backfills(tenant(), namespace, flowId, triggerId, status, filters)
    return searches.page_of(PagedResults[BackfillResource], [backfill_resource_json(b) for b in found], page, size)


@router.post("/backfills/dry-run", responses=answers("What the backfill would run and skip", 400, 404, 409, 415))
def dry_run(body: DryRun, size: Annotated[int, Query(ge=1, le=1000)] = 20) -> DryRunResult:
    from backfill_core.backfills import planning
    from backfill_core.kestra_api.kestra_json import dry_run_json

    return dry_run_json(planning.dry_run(tenant(), body, body.backfill, size))


@router.get("/backfills/<backfill_id>", responses=answers("The backfill with its progress", 404))
def get_backfill(backfill_id: RecordIdParam) -> BackfillResource:
    from backfill_core.backfills import queries
    from backfill_core.kestra_api.kestra_json import backfill_resource_json

    return backfill_resource_json(queries.find_backfill(tenant(), backfill_id))


@router.patch("/backfills/<backfill_id>", responses=answers("The backfill, changed", 400, 404, 409, 415))
def change_backfill(backfill_id: RecordIdParam, body: BackfillChange) -> BackfillResource:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api.kestra_json import backfill_resource_json

    changed = commands.change_backfill(tenant(), backfill_id, body.concurrency, body.paused, body.rate_limit)
    return backfill_resource_json(changed)


@router.post(
    "/backfills/<backfill_id>/cancel", responses=answers("The backfill, CANCELLING or CANCELLED", 400, 404, 409, 415)
)
def cancel_backfill(backfill_id: RecordIdParam, body: BackfillCancel | None = None) -> BackfillResource:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api.kestra_json import backfill_resource_json

    kill = body.kill if body else False
    return backfill_resource_json(commands.cancel(tenant(), backfill_id, kill))


@router.post(
    "/backfills/<backfill_id>/retry-failed",
    responses=answers("How many failed slots run again, and the backfill", 404, 409),
)
def retry_failed(backfill_id: RecordIdParam) -> RetryFailedResult:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api.kestra_json import retry_failed_json

    return retry_failed_json(*commands.retry_failed(tenant(), backfill_id))


@router.get("/backfills/<backfill_id>/slots", responses=answers("A page of slots with their state", 404, 422))
def backfill_slots(
    backfill_id: RecordIdParam,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_SLOTS_PAGE_SIZE)] = 100,
    state: Annotated[list[SlotShown] | None, Query()] = None,
) -> PagedResults[Slot]:
    """`state` (repeatable) keeps the slots in those states; `total` then counts them."""
    from backfill_core.kestra_api import searches

    return searches.backfill_slots(tenant(), backfill_id, page, size, state or [])
