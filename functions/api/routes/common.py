"""What every resource's routes share: Kestra's id lengths as parameters, the answers they document, and who
and for which tenant the request is."""

from collections.abc import Callable
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParameter
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from backfill_core.errors import Invalid
from backfill_core.ids import MAX_FLOW_ID, MAX_ID, MAX_NAMESPACE, MAX_RECORD_ID
from backfill_core.kestra_api import filters
from backfill_core.kestra_api.filter_fields import Fields
from backfill_core.kestra_api.requests import ErrorMessage
from tenants import tenant_of

# Ids in paths and query strings, at Kestra's lengths: longer ones could name nothing, nor fit a DynamoDB key.
NamespaceParam = Annotated[str, PathParameter(max_length=MAX_NAMESPACE)]
FlowIdParam = Annotated[str, PathParameter(max_length=MAX_FLOW_ID)]
RecordIdParam = Annotated[str, PathParameter(max_length=MAX_RECORD_ID)]
NamespaceQuery = Annotated[str | None, Query(max_length=MAX_NAMESPACE)]
FlowIdQuery = Annotated[str | None, Query(max_length=MAX_FLOW_ID)]
TriggerIdQuery = Annotated[str | None, Query(max_length=MAX_ID)]

# The largest page a search answers: the API checks page >= 1 and 1 <= size <= this (in the OpenAPI document too).
MAX_PAGE_SIZE = 1000
MAX_SLOTS_PAGE_SIZE = 1000
MAX_TRIGGERS_PAGE_SIZE = 10_000  # the UI lists every trigger on one page; an entry is small, and bounded() holds


ERRORS = {
    400: "The body is not JSON, or the trigger has no running backfill to act on",
    401: "The API token is required (where API_TOKEN_SECRET is set): X-Api-Token, or Authorization: Bearer",
    404: "No such flow, trigger, backfill, execution or route",
    409: "Conflicts with the current state: named in the message",
    413: "The body is larger than a request may carry (API_MAX_BODY_BYTES)",
    415: "The body is not sent as JSON (Content-Type: application/json)",
    422: "A field is invalid: the message names it",
    503: "DynamoDB is throttling, or the API token could not be read: try again after the Retry-After seconds",
}
# Any route may answer these: the guards refuse a call without the token or with too large a body before any
# route runs, every route validates its request, and DynamoDB may throttle.
EVERY_ROUTE = (401, 413, 422, 503)


def answers(success: str, *errors: int, status: int = 200, body: bool = True) -> dict:
    """A route's answers for the OpenAPI document: its success, whose schema is the route's return annotation
    (or, with `body=False`, none: an empty answer), and each error, all `{"message"}`. Every route validates its
    request, so each may answer 422, and EVERY_ROUTE's others."""
    described: dict[int, dict[str, Any]] = {status: {"description": success, **({} if body else {"content": {}})}}
    for code in sorted({*errors, *EVERY_ROUTE}):
        described[code] = {"description": ERRORS[code], "content": {"application/json": {"model": ErrorMessage}}}
    return described


def tenant() -> str:
    """The tenant the request's path names (/api/v1/{tenant}/...), else the default one (/api/v1/...)."""
    return tenant_of(BaseRouter.current_event.path)


def caller(router: Router) -> str:
    """Who made the request: the signed caller's ARN on AWS (AWS_IAM), else the client's address."""
    event = cast(APIGatewayProxyEvent, router.current_event)  # a Router types it as any resolver's event
    identity = event.request_context.identity
    return identity.user_arn or f"anonymous ({identity.source_ip})"


def size_with_page(page: int | None, size: int | None) -> None:
    """Our paging of Kestra's plain lists: a page means nothing without its size."""
    if page is not None and size is None:
        raise Invalid("page: give size with page")


def takes_filters(route: Callable) -> Callable:
    """Marks a route that reads Kestra's `filters[...]` (query_filters), under its @router decorator; on any
    other route they are refused before it runs (guards.no_ignored_filters), never ignored."""
    setattr(route, TAKES_FILTERS, True)
    return route


TAKES_FILTERS = "takes_query_filters"


def query_filters(router: Router, fields: Fields) -> list[filters.Filter]:
    """Kestra's `filters[field][OPERATION]=value` parameters of the request, checked against the fields the
    route honours (kestra_api/filters.py)."""
    event = cast(APIGatewayProxyEvent, router.current_event)
    return filters.parse(event.multi_value_query_string_parameters, fields)


KillCascade = Annotated[
    bool, Query(description="Kestra's: kill the subflow executions too; a child its parent waits for always is")
]


def refuse_no_cascade(is_on_kill_cascade: bool) -> None:
    if not is_on_kill_cascade:
        raise Invalid("isOnKillCascade: false is not taken here: a child its parent waits for is killed with it")


Revision = Annotated[
    int | None, Query(ge=1, description="The flow revision; only its latest is kept here: another is a 404")
]
