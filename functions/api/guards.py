"""Refusals before a route runs. The token and the body size are checked on the raw event, before
`app.resolve`: Powertools validates a body before any middleware runs, so as middleware they would come too late
(a caller without the token would learn field names; a huge body would be parsed first). Only the list-for-object
and filters checks, which need the matched route, are middleware."""

import hmac
from http import HTTPStatus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from backfill_core import aws_clients
from backfill_core.kestra_api.requests import ErrorMessage
from backfill_core.settings import settings
from errors import message, request_of
from routes.common import TAKES_FILTERS
from routes.ui import is_ui_asset
from tenants import refusal as tenant_refusal

logger = Logger(service="api")

# The API token's own header: IAM's SigV4 owns `Authorization` on AWS.
TOKEN_HEADER = "X-Api-Token"
TOKEN_MAX_AGE_SECONDS = 300


def refused(event: dict) -> dict | None:
    """The proxy answer refusing the request before anything of it is read, or None to let it through."""
    return refused_without_token(APIGatewayProxyEvent(event)) or refused_too_large(event) or refused_tenant(event)


def refused_without_token(event: APIGatewayProxyEvent) -> dict | None:
    """With API_TOKEN_SECRET set, a call without that secret's token is refused before anything is read:
    Powertools validates a body before any middleware runs, so a middleware would tell field names first.

    The token has a header of its own, so it goes with IAM's SigV4 `Authorization`. `Authorization: Bearer`
    is taken too, as Kestra's clients (kestrapy, its docs' curl lines) send it: on the local stack they work
    unchanged; on AWS, API Gateway's IAM check refuses that header before this function runs."""
    secret = settings().api_token_secret
    if not secret or is_ui_asset(event.path):  # the UI's static files hold no data
        return None
    # Here, not at the top: Powertools' parameters import boto3, which only a deployment with a token needs.
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        # Read on the first call, then from Powertools' cache: a replaced token is taken within its max age.
        token = aws_clients.secrets().get(secret, max_age=TOKEN_MAX_AGE_SECONDS)
    except GetParameterError:
        logger.exception("the API token could not be read from Secrets Manager")
        text = f"{TOKEN_HEADER}: the API token could not be read just now; retry"
        return _proxy_answer(event.raw_event, HTTPStatus.SERVICE_UNAVAILABLE, text, {"Retry-After": "5"})
    given = event.headers.get(TOKEN_HEADER) or _bearer(event.headers.get("Authorization"))  # case-insensitive
    if given and hmac.compare_digest(given.encode(), str(token).encode()):
        return None
    text = f"{TOKEN_HEADER}: the API token is required (or Authorization: Bearer <token> where IAM is not used)"
    return _proxy_answer(event.raw_event, HTTPStatus.UNAUTHORIZED, text, {"WWW-Authenticate": "Bearer"})


def _bearer(authorization: str | None) -> str | None:
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials if scheme == "Bearer" and credentials else None


def refused_too_large(event: dict) -> dict | None:
    """Refused unread: parsing a huge body is the cost it would impose."""
    body, limit = event.get("body") or "", settings().max_body_bytes
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size <= limit:
        return None
    text = f"body: {size:,} bytes is more than the {limit:,} bytes a request may carry (API_MAX_BODY_BYTES)"
    return _proxy_answer(event, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, text)


def refused_tenant(event: dict) -> dict | None:
    """A tenant segment that is no tenant id, or a route's name where a tenant would go (see tenants.py)."""
    text = tenant_refusal(event.get("path") or "")
    return _proxy_answer(event, HTTPStatus.UNPROCESSABLE_ENTITY, text) if text else None


def _proxy_answer(event: dict, status: int, text: str, headers: dict[str, str] | None = None) -> dict:
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = request_of(event.get("path") or "", event.get("multiValueQueryStringParameters"))
    return {"statusCode": status, "headers": headers, "body": ErrorMessage.about(text, request)}


def no_list_for_an_object(app: APIGatewayRestResolver, next_middleware) -> Response:
    """Powertools validates the first item of a JSON list as a route's object body (its form-data rule), so
    `[{...}, junk]` would act as `{...}`: a list where an object is expected is refused instead."""
    args = app.context.get("_route_args") or {}
    if any(isinstance(v, BaseModel) for v in args.values()) and (app.current_event.body or "").lstrip()[:1] == "[":
        return message(HTTPStatus.UNPROCESSABLE_ENTITY, "body: a JSON object is required, not a list")
    return next_middleware(app)


def no_ignored_filters(app: APIGatewayRestResolver, next_middleware) -> Response:
    """Kestra's `filters[...]` on a route that does not read them (routes.common.takes_filters) are refused:
    ignored, they would widen what the call reads or changes to everything."""
    route = app.context.get("_route")
    given = sorted(
        k for k in app.current_event.multi_value_query_string_parameters or {} if k.lower().startswith("filters")
    )
    if given and not getattr(getattr(route, "func", None), TAKES_FILTERS, False):
        return message(HTTPStatus.UNPROCESSABLE_ENTITY, f"{given[0]}: not supported; this route takes no filters")
    return next_middleware(app)


def no_ignored_parameters(app: APIGatewayRestResolver, next_middleware) -> Response:
    """A query parameter the route does not declare is refused, naming it: ignored, a misspelt `namespace` or a
    Kestra parameter we do not implement would widen or change what the call does, and say nothing."""
    route = app.context.get("_route")
    if route is None:
        return next_middleware(app)
    declared = {parameter.alias for parameter in route.dependant.query_params}
    given = app.current_event.multi_value_query_string_parameters or {}
    unknown = sorted(k for k in given if k not in declared and not k.lower().startswith("filters"))
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        event = app.current_event
        text = f"{unknown[0]}: not a parameter of {event.http_method} {event.path}; it takes {takes}"
        return message(HTTPStatus.UNPROCESSABLE_ENTITY, text)
    return next_middleware(app)
