"""Kestra's trigger routes, and the backfill each trigger carries: set, pause, unpause, delete, in bulk too."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Invalid, NotFound
from backfill_core.kestra_api.filter_fields import TRIGGER_FIELDS, TriggerDateFilter
from backfill_core.kestra_api.requests import BackfillDelete, TriggerRef, TriggerUpdate
from backfill_core.kestra_api.trigger_answers import BulkAnswer, TriggerContext, TriggerContexts, TriggerEntries
from routes.common import (
    MAX_TRIGGERS_PAGE_SIZE,
    FlowIdParam,
    FlowIdQuery,
    NamespaceParam,
    NamespaceQuery,
    answers,
    caller,
    query_filters,
    takes_filters,
    tenant,
)

router = Router()


@router.put("/triggers", responses=answers("Kestra's trigger JSON, with the new backfill", 400, 404, 409, 415))
def update_trigger(body: TriggerUpdate) -> TriggerContext:
    from backfill_core.kestra_api import searches
    from backfill_core.triggers import commands as trigger_commands

    return searches.trigger_context(tenant(), body, trigger_commands.update_trigger(tenant(), body, caller(router)))


@router.put("/triggers/backfill/pause", responses=answers("Kestra's trigger JSON", 400, 404, 415))
def pause_backfill(body: TriggerRef) -> TriggerContext:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api import searches

    return searches.trigger_context(tenant(), body, commands.pause(tenant(), body))


@router.put("/triggers/backfill/unpause", responses=answers("Kestra's trigger JSON", 400, 404, 415))
def unpause_backfill(body: TriggerRef) -> TriggerContext:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api import searches

    return searches.trigger_context(tenant(), body, commands.unpause(tenant(), body))


@router.post("/triggers/backfill/delete", responses=answers("Kestra's trigger JSON", 400, 404, 415))
def delete_backfill(body: BackfillDelete) -> TriggerContext:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api import searches

    return searches.trigger_context(tenant(), body, commands.delete(tenant(), body, body.kill))


BULK_ACTIONS = ("pause", "unpause", "delete")


def _bulk_action(action: str) -> str:
    if action not in BULK_ACTIONS:
        raise NotFound(f"No route for backfill action '{action}': use one of {', '.join(BULK_ACTIONS)}")
    return action


@router.post(
    "/triggers/backfill/<action>/by-triggers", responses=answers("How many triggers' backfills changed", 400, 404, 415)
)
def bulk_by_triggers(action: str, body: list[TriggerRef]) -> BulkAnswer:
    from backfill_core.backfills import commands
    from backfill_core.kestra_api.kestra_json import bulk_json

    return bulk_json(commands.bulk(tenant(), _bulk_action(action), body))


@router.post(
    "/triggers/backfill/<action>/by-query", responses=answers("How many triggers' backfills changed", 404, 422)
)
@takes_filters
def bulk_by_query(
    action: str,
    namespace: NamespaceQuery = None,
    q: Annotated[str | None, Query()] = None,
) -> BulkAnswer:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above:
    a filter this route cannot honour is refused, never dropped to act on more triggers."""
    from backfill_core.backfills import commands
    from backfill_core.kestra_api.kestra_json import bulk_json

    action = _bulk_action(action)
    refs = commands.triggers_matching(tenant(), namespace, q, query_filters(router, TRIGGER_FIELDS))
    return bulk_json(commands.bulk(tenant(), action, refs))


SortQuery = Annotated[
    list[str] | None, Query(description="Kestra's field:asc|desc, e.g. triggerId:desc or nextExecutionDate:asc")
]
QQuery = Annotated[str | None, Query(description="A part of the namespace, flow id or trigger id", max_length=1000)]
PageQuery = Annotated[int, Query(ge=1)]
TriggersPageSize = Annotated[int, Query(ge=1, le=MAX_TRIGGERS_PAGE_SIZE)]


@router.get("/triggers/search", responses=answers("A page of triggers with their context", 422))
@takes_filters
def search_triggers(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter name
    q: QQuery = None,
    sort: SortQuery = None,
    page: PageQuery = 1,
    size: TriggersPageSize = 10,
    dateFilter: Annotated[  # noqa: N803 - Kestra 2.0's name
        TriggerDateFilter, Query(description="The date filters[startDate] and filters[endDate] bound")
    ] = TriggerDateFilter.NEXT_EXECUTION_DATE,
) -> TriggerEntries:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above."""
    from backfill_core.kestra_api import searches

    if dateFilter is TriggerDateFilter.LAST_TRIGGERED_DATE:
        raise Invalid("dateFilter: LAST_TRIGGERED_DATE is not supported; startDate and endDate bound nextExecutionDate")
    found = query_filters(router, TRIGGER_FIELDS)
    return searches.search_triggers(tenant(), namespace, flowId, page, size, q, sort, found)


@router.get("/triggers/<namespace>/<flow_id>", responses=answers("A page of the flow's trigger contexts", 422))
def flow_triggers(
    namespace: NamespaceParam,
    flow_id: FlowIdParam,
    q: QQuery = None,
    sort: SortQuery = None,
    page: PageQuery = 1,
    size: TriggersPageSize = 10,
) -> TriggerContexts:
    """Kestra's Triggers tab of a flow; a flow that is not there has none (an empty page, as Kestra's)."""
    from backfill_core.kestra_api import searches

    return searches.flow_triggers(tenant(), namespace, flow_id, page, size, q, sort)
