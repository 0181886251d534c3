"""Kestra's flow routes: a flow's YAML in, Kestra's flow JSON out."""

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Invalid, NotFound
from backfill_core.kestra_api.filter_fields import FLOW_FIELDS
from backfill_core.kestra_api.flow_answers import FlowWithSource, ValidateConstraintViolation
from backfill_core.kestra_api.responses import PagedResults
from routes.common import (
    MAX_PAGE_SIZE,
    FlowIdParam,
    NamespaceParam,
    NamespaceQuery,
    answers,
    query_filters,
    size_with_page,
    takes_filters,
    tenant,
)

router = Router()


def _yaml_body() -> str:
    body = router.current_event.decoded_body
    if not body or not body.strip():
        raise Invalid("body: a flow in YAML is required (Content-Type: application/x-yaml)")
    return body


Draft = Annotated[bool, Query(description="Kestra 2.0's draft revision: none is kept here, so true is a 422")]


def _refuse_draft(draft: bool) -> None:
    if draft:
        raise Invalid("draft: draft revisions are not kept here; store the flow itself (draft=false)")


@router.post("/flows", responses=answers("The flow as Kestra returns it", 409, 422))
def create_flow(draft: Draft = False) -> FlowWithSource:
    from backfill_core.flows.validation import registered_flow
    from backfill_core.kestra_api.kestra_json import flow_json
    from backfill_core.slots import subflows
    from backfill_core.storage import flows_repository

    _refuse_draft(draft)
    source = _yaml_body()
    flow = registered_flow(source)
    subflows.check_chain(tenant(), flow)
    return flow_json(flows_repository.create(tenant(), flow, source))


@router.post(
    "/flows/validate",
    responses=answers("One verdict per flow of the body (YAML documents separated by ---), nothing stored"),
)
def validate_flows() -> list[ValidateConstraintViolation]:
    """Kestra's validation: each flow checked as POST /flows would check it; `constraints` names each property
    refused, with its path."""
    from backfill_core.flows.validation import check_sources
    from backfill_core.kestra_api.kestra_json import validation_json
    from backfill_core.slots import subflows

    return validation_json(check_sources(_yaml_body(), lambda flow: subflows.check_chain(tenant(), flow)))


@router.get("/flows/search", responses=answers("A page of flows", 422))
@takes_filters
def search_flows(
    namespace: NamespaceQuery = None,
    q: Annotated[str | None, Query(description="A part of the namespace or the flow id", max_length=1000)] = None,
    sort: Annotated[list[str] | None, Query(description="Kestra's field:asc|desc: id or namespace")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
) -> PagedResults[FlowWithSource]:
    """Kestra's `filters[field][OPERATION]=value` too (README, "Query filters"), all holding with the above."""
    from backfill_core.kestra_api import listings, searches

    found = listings.search_flows(tenant(), namespace, q, sort, query_filters(router, FLOW_FIELDS))
    return searches.page_of(PagedResults[FlowWithSource], found, page, size)


@router.get("/flows/distinct-namespaces", responses=answers("The namespaces that hold a flow, sorted"))
def distinct_namespaces(
    q: Annotated[str | None, Query(description="A part of the namespace", max_length=1000)] = None,
) -> list[str]:
    from backfill_core.kestra_api import listings

    return listings.distinct_namespaces(tenant(), q)


@router.get(
    "/flows/<namespace>/<flow_id>/revisions",
    responses=answers("The flow's revisions: only its latest is kept, so a list of one", 404),
)
def flow_revisions(
    namespace: NamespaceParam,
    flow_id: FlowIdParam,
    allowDelete: Annotated[  # noqa: N803 - Kestra's parameter name
        bool, Query(description="A deleted flow's revisions are not kept: with true, still a 404")
    ] = False,
) -> list[FlowWithSource]:
    """Each revision replaces the one before it: the list holds the latest, under its own revision number."""
    from backfill_core.kestra_api.kestra_json import flow_json
    from backfill_core.storage import flows_repository

    return [flow_json(flows_repository.get(tenant(), namespace, flow_id))]


@router.get("/flows/<namespace>/<flow_id>", responses=answers("The flow", 404))
def get_flow(
    namespace: NamespaceParam,
    flow_id: FlowIdParam,
    revision: Annotated[
        int | None, Query(ge=1, description="only the latest revision is kept: another is a 404")
    ] = None,
    source: Annotated[bool, Query(description="the answer carries the flow's source either way")] = False,
    allowDeleted: Annotated[  # noqa: N803 - Kestra's parameter name
        bool, Query(description="a deleted flow is not kept: with true, still a 404")
    ] = False,
) -> FlowWithSource:
    from backfill_core.kestra_api.kestra_json import flow_json
    from backfill_core.storage import flows_repository

    return flow_json(flows_repository.get(tenant(), namespace, flow_id).at_revision(revision))


# Kestra's GET /flows/{name} routes that we do not serve: their path is not a namespace to list (an empty one).
KESTRA_ROUTES_NOT_SERVED = ("deprecated", "source")


@router.get("/flows/<namespace>", responses=answers("The flows of a namespace", 404, 422))
def list_flows(
    namespace: NamespaceParam,
    page: Annotated[int | None, Query(ge=1, description="ours: a page of the flows, with size")] = None,
    size: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="ours: flows per page; without it, every flow")
    ] = None,
) -> list[FlowWithSource]:
    """Kestra's answer is every flow of the namespace, when they fit one answer (else a 422 naming size); page
    and size read a large namespace a page at a time."""
    from backfill_core.kestra_api import searches
    from backfill_core.kestra_api.kestra_json import flow_json
    from backfill_core.storage import flows_repository

    if namespace in KESTRA_ROUTES_NOT_SERVED:
        raise NotFound(f"No route for GET /flows/{namespace}: Kestra's route of that name is not served here")
    size_with_page(page, size)
    return searches.paged(
        (flow_json(stored) for stored in flows_repository.list_flows(tenant(), namespace)), page, size
    )


@router.put("/flows/<namespace>/<flow_id>", responses=answers("The flow's new revision", 404, 422))
def update_flow(namespace: NamespaceParam, flow_id: FlowIdParam, draft: Draft = False) -> FlowWithSource:
    from backfill_core.backfills import flow_changes
    from backfill_core.flows.validation import registered_flow
    from backfill_core.kestra_api.kestra_json import flow_json
    from backfill_core.slots import subflows
    from backfill_core.storage import flows_repository

    _refuse_draft(draft)
    source = _yaml_body()
    flow = registered_flow(source)
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise Invalid(f"id: the YAML is flow {flow.namespace}.{flow.id}, the path is {namespace}.{flow_id}")
    subflows.check_chain(tenant(), flow)
    stored = flows_repository.update(tenant(), flow, source)
    flow_changes.flow_updated(stored)
    return flow_json(stored)


@router.delete(
    "/flows/<namespace>/<flow_id>",
    responses=answers("Deleted; its running backfills are cancelled", 404, status=204, body=False),
)
def delete_flow(namespace: NamespaceParam, flow_id: FlowIdParam):
    from backfill_core.backfills import flow_changes

    flow_changes.delete_flow(tenant(), namespace, flow_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type="application/json", body="")
