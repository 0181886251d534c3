"""Kestra's trigger commands beside the backfill: set-disabled, restart, unlock, delete (one, by triggers, by
query), and Kestra 2.0's PUT /triggers/backfill/create."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParameter
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Invalid
from backfill_core.ids import MAX_ID
from backfill_core.kestra_api.filter_fields import TRIGGER_FIELDS
from backfill_core.kestra_api.requests import (
    BackfillCreate,
    QueryFiltersBody,
    TriggerDisable,
    TriggerRef,
    TriggersDisable,
)
from backfill_core.kestra_api.trigger_answers import BulkAnswer, TriggerContext
from routes.common import (
    FlowIdParam,
    NamespaceParam,
    NamespaceQuery,
    answers,
    caller,
    query_filters,
    takes_filters,
    tenant,
)
from routes.triggers import QQuery

router = Router()
TriggerIdParam = Annotated[str, PathParameter(max_length=MAX_ID)]


def _ref(namespace: str, flow_id: str, trigger_id: str) -> TriggerRef:
    return TriggerRef(namespace=namespace, flow_id=flow_id, trigger_id=trigger_id)


def _matching(namespace: str | None, q: str | None) -> list[TriggerRef]:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the others."""
    from backfill_core.backfills.commands import triggers_matching

    return triggers_matching(tenant(), namespace, q, query_filters(router, TRIGGER_FIELDS))


@router.put(
    "/triggers/backfill/create", responses=answers("Kestra 2.0's trigger state, with the new backfill", 404, 409, 415)
)
def create_trigger_backfill(body: BackfillCreate) -> TriggerContext:
    """Kestra 2.0's form of PUT /triggers with a backfill."""
    from backfill_core.backfills.commands import create_backfill
    from backfill_core.kestra_api import searches

    backfill = create_backfill(tenant(), body, body.backfill, caller(router))
    return searches.trigger_context(tenant(), body, backfill)


@router.put("/triggers/set-disabled", responses=answers("The trigger's state", 404, 415))
def set_disabled(body: TriggerDisable) -> TriggerContext:
    from backfill_core.kestra_api import searches
    from backfill_core.triggers import commands

    commands.set_disabled(tenant(), body, body.disabled)
    return searches.trigger_context(tenant(), body)


@router.post("/triggers/set-disabled/by-triggers", responses=answers("How many triggers changed", 415))
def set_disabled_by_triggers(body: TriggersDisable) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    return bulk_json(commands.bulk(lambda ref: commands.set_disabled(tenant(), ref, body.disabled), body.triggers))


@router.post("/triggers/set-disabled/by-query", responses=answers("How many triggers changed"))
@takes_filters
def set_disabled_by_query(
    disabled: Annotated[bool, Query()] = True, namespace: NamespaceQuery = None, q: QQuery = None
) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    refs = _matching(namespace, q)
    return bulk_json(commands.bulk(lambda ref: commands.set_disabled(tenant(), ref, disabled), refs))


@router.post(
    "/triggers/<namespace>/<flow_id>/<trigger_id>/restart",
    responses=answers("The trigger's state: its live schedule starts afresh at the next tick", 404),
)
def restart_trigger(namespace: NamespaceParam, flow_id: FlowIdParam, trigger_id: TriggerIdParam) -> TriggerContext:
    from backfill_core.kestra_api import searches
    from backfill_core.triggers import commands

    ref = _ref(namespace, flow_id, trigger_id)
    commands.restart(tenant(), ref)
    return searches.trigger_context(tenant(), ref)


@router.post(
    "/triggers/<namespace>/<flow_id>/<trigger_id>/unlock",
    responses=answers("Never: no trigger is ever locked here (409)", 404, 409),
)
def unlock_trigger(namespace: NamespaceParam, flow_id: FlowIdParam, trigger_id: TriggerIdParam) -> TriggerContext:
    from backfill_core.kestra_api import searches
    from backfill_core.triggers import commands

    ref = _ref(namespace, flow_id, trigger_id)
    commands.unlock(tenant(), ref)
    return searches.trigger_context(tenant(), ref)


@router.post("/triggers/unlock/by-triggers", responses=answers("How many triggers were unlocked: none is locked", 415))
def unlock_by_triggers(body: list[TriggerRef]) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    return bulk_json(commands.bulk(lambda ref: commands.unlock(tenant(), ref), body))


@router.post("/triggers/unlock/by-query", responses=answers("How many triggers were unlocked: none is locked"))
@takes_filters
def unlock_by_query(namespace: NamespaceQuery = None, q: QQuery = None) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    return bulk_json(commands.bulk(lambda ref: commands.unlock(tenant(), ref), _matching(namespace, q)))


@router.delete(
    "/triggers/<namespace>/<flow_id>/<trigger_id>",
    responses=answers("Its backfills cancelled, its state forgotten", 404, status=204, body=False),
)
def delete_trigger(namespace: NamespaceParam, flow_id: FlowIdParam, trigger_id: TriggerIdParam):
    from backfill_core.triggers import commands

    commands.delete(tenant(), _ref(namespace, flow_id, trigger_id))
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type="application/json", body="")


@router.delete("/triggers/delete/by-triggers", responses=answers("How many triggers were deleted", 415))
def delete_by_triggers(body: list[TriggerRef]) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    return bulk_json(commands.bulk(lambda ref: commands.delete(tenant(), ref), body))


@router.delete("/triggers/delete/by-query", responses=answers("How many triggers were deleted", 415))
@takes_filters
def delete_by_query(
    namespace: NamespaceQuery = None, q: QQuery = None, body: QueryFiltersBody | None = None
) -> BulkAnswer:
    from backfill_core.kestra_api.kestra_json import bulk_json
    from backfill_core.triggers import commands

    if body and body.filters:
        raise Invalid("filters: give them as query parameters, filters[field][OPERATION]=value")
    return bulk_json(commands.bulk(lambda ref: commands.delete(tenant(), ref), _matching(namespace, q)))
