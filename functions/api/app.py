"""API Gateway handler: Kestra's flow, trigger, execution and log routes. Parse, call the domain, shape."""

import hmac
import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParameter
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import BaseModel

from backfill_core import aws_clients, backfill_service, searches
from backfill_core.api_models import (
    BackfillCancel,
    BackfillChange,
    BackfillDelete,
    DryRun,
    ErrorMessage,
    TriggerRef,
    TriggerUpdate,
    json_loads,
)
from backfill_core.errors import DomainError, Invalid, NotFound
from backfill_core.flows import parse_flow
from backfill_core.ids import MAX_FLOW_ID, MAX_ID, MAX_NAMESPACE, MAX_RECORD_ID
from backfill_core.kestra_json import backfill_resource_json, flow_json
from backfill_core.repositories import executions_repository, flows_repository
from backfill_core.settings import load_settings, settings

load_settings()  # the cold start: an invalid or missing setting fails it, naming the variable
logger = Logger(service="api")


# Every route answers with and without the tenant segment, as Kestra's do.
app = APIGatewayRestResolver(
    enable_validation=True,
    strip_prefixes=["/api/v1/main", "/api/v1"],
    json_body_deserializer=json_loads,
)

# Ids in paths and query strings, at Kestra's lengths: longer ones could name nothing, nor fit a DynamoDB key.
NamespaceParam = Annotated[str, PathParameter(max_length=MAX_NAMESPACE)]
FlowIdParam = Annotated[str, PathParameter(max_length=MAX_FLOW_ID)]
RecordIdParam = Annotated[str, PathParameter(max_length=MAX_RECORD_ID)]
NamespaceQuery = Annotated[str | None, Query(max_length=MAX_NAMESPACE)]
FlowIdQuery = Annotated[str | None, Query(max_length=MAX_FLOW_ID)]
TriggerIdQuery = Annotated[str | None, Query(max_length=MAX_ID)]


ERRORS = {
    400: "The body is not JSON, or the trigger has no running backfill to act on",
    404: "No such flow, trigger, backfill, execution or route",
    409: "Conflicts with the current state: named in the message",
    422: "A field is invalid: the message names it",
    503: "DynamoDB is throttling: try again after the Retry-After header's seconds",
}


def answers(success: str, *errors: int, status: int = 200) -> dict:
    """A route's answers for the OpenAPI document: its success and each error, all `{"message"}`. Every
    route validates its request, so each may answer 422."""
    described: dict[int, dict[str, Any]] = {status: {"description": success}}
    for code in sorted({*errors, 422, 503}):
        described[code] = {"description": ERRORS[code], "content": {"application/json": {"model": ErrorMessage}}}
    return described


def _tenant() -> str:
    return settings().tenant


def _caller() -> str:
    """Who made the request: the signed caller's ARN on AWS (AWS_IAM), else the client's address."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or f"anonymous ({identity.source_ip})"


def _message(status: int, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps({"message": message}))


def _no_list_for_an_object(app: APIGatewayRestResolver, next_middleware) -> Response:
    """Powertools validates the first item of a JSON list as a route's object body (its form-data rule), so
    `[{...}, junk]` would act as `{...}`: a list where an object is expected is refused instead."""
    args = app.context.get("_route_args") or {}
    if any(isinstance(v, BaseModel) for v in args.values()) and (app.current_event.body or "").lstrip()[:1] == "[":
        return _message(HTTPStatus.UNPROCESSABLE_ENTITY, "body: a JSON object is required, not a list")
    return next_middleware(app)


app.use(middlewares=[_no_list_for_an_object])


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    return _message(exc.status_code, exc.message)


THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
RETRY_AFTER_SECONDS = 2


def _throttled(exc: ClientError) -> bool:
    """DynamoDB refused for load after botocore's own retries; inside a transaction, as a cancellation reason."""
    if exc.response.get("Error", {}).get("Code") in THROTTLED:
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(r.get("Code") in ("ThrottlingError", "ProvisionedThroughputExceeded") for r in reasons)


@app.exception_handler(ClientError)
def _aws_error(exc: ClientError) -> Response:
    """Throttling is the one AWS failure a caller can do something about: wait and send it again."""
    if not _throttled(exc):
        raise exc
    logger.warning("DynamoDB throttled a request", extra={"code": exc.response["Error"].get("Code")})
    return Response(
        status_code=HTTPStatus.SERVICE_UNAVAILABLE,
        content_type="application/json",
        body=json.dumps(
            {"message": f"DynamoDB is throttling requests; try again in {RETRY_AFTER_SECONDS} seconds (Retry-After)"}
        ),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _form_body() -> bool:
    content_type = (app.current_event.headers.get("Content-Type") or "").lower()
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/"))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_media_type(exc: Exception | None = None) -> Response:
    """A JSON route given another media type (curl -d sends a form) says so, rather than list every field."""
    content_type = (app.current_event.headers.get("Content-Type") or "").split(";")[0].strip()
    return _message(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"Content-Type: '{content_type}' is not accepted; send the body as JSON with Content-Type: application/json",
    )


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(exc: UnicodeDecodeError) -> Response:
    return _message(HTTPStatus.BAD_REQUEST, "Request body is not UTF-8 text")


@app.exception_handler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    """JSON arrays in arrays, thousands deep: the parser gives up before any route sees the body."""
    return _message(HTTPStatus.BAD_REQUEST, "Request body is nested too deeply to read")


@app.exception_handler(ValueError)
def _unparsable_form(exc: ValueError) -> Response:
    """Powertools raises a bare ValueError for a multipart body without its boundary; anything else is a bug."""
    if _form_body():
        return _unsupported_media_type()
    raise exc


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _message(HTTPStatus.BAD_REQUEST, "Request body is not valid JSON")
    if _form_body() and any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors):
        return _unsupported_media_type()
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(location) or "body"
        if error.get("loc") == ("body",) and error.get("type") == "missing":
            parts.append("body: a JSON object is required")
            continue
        parts.append(f"{field}: {error.get('msg', 'is invalid').removeprefix('Value error, ')}")
    return _message(HTTPStatus.UNPROCESSABLE_ENTITY, "; ".join(parts))


@app.not_found
def _not_found(exc: NotFoundError) -> Response:
    event = app.current_event
    return _message(HTTPStatus.NOT_FOUND, f"No route for {event.http_method} {event.path}")


def _yaml_body() -> str:
    body = app.current_event.decoded_body
    if not body or not body.strip():
        raise Invalid("body: a flow in YAML is required (Content-Type: application/x-yaml)")
    return body


# Flows


@app.post("/flows", responses=answers("The flow as Kestra returns it", 409, 422))
def create_flow():
    source = _yaml_body()
    return flow_json(flows_repository.create(_tenant(), parse_flow(source), source))


@app.get("/flows/<namespace>/<flow_id>", responses=answers("The flow", 404))
def get_flow(namespace: NamespaceParam, flow_id: FlowIdParam):
    return flow_json(flows_repository.get(_tenant(), namespace, flow_id))


@app.get("/flows/<namespace>", responses=answers("The flows of a namespace", 422))
def list_flows(
    namespace: NamespaceParam,
    page: Annotated[int | None, Query(ge=1, description="ours: a page of the flows, with size")] = None,
    size: Annotated[
        int | None, Query(ge=1, le=searches.MAX_PAGE_SIZE, description="ours: flows per page; without it, every flow")
    ] = None,
):
    """Kestra's answer is every flow of the namespace, when they fit one answer (else a 422 naming size); page
    and size read a large namespace a page at a time."""
    if page is not None and size is None:
        raise Invalid("page: give size with page")
    flows: Iterable[dict] = (flow_json(stored) for stored in flows_repository.list_flows(_tenant(), namespace))
    if size is not None:
        skip = ((page or 1) - 1) * size
        flows = islice(flows, skip, skip + size)
    return searches.bounded(flows)


@app.put("/flows/<namespace>/<flow_id>", responses=answers("The flow's new revision", 404, 422))
def update_flow(namespace: NamespaceParam, flow_id: FlowIdParam):
    source = _yaml_body()
    flow = parse_flow(source)
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise Invalid(f"id: the YAML is flow {flow.namespace}.{flow.id}, the path is {namespace}.{flow_id}")
    stored = flows_repository.update(_tenant(), flow, source)
    backfill_service.flow_updated(stored)
    return flow_json(stored)


@app.delete(
    "/flows/<namespace>/<flow_id>", responses=answers("Deleted; its running backfills are cancelled", 404, status=204)
)
def delete_flow(namespace: NamespaceParam, flow_id: FlowIdParam):
    backfill_service.delete_flow(_tenant(), namespace, flow_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type="application/json", body="")


# Triggers and their backfills


@app.put("/triggers", responses=answers("Kestra's trigger JSON, with the new backfill", 400, 404, 409, 422))
def update_trigger(body: TriggerUpdate):
    return searches.trigger_context(_tenant(), body, backfill_service.update_trigger(_tenant(), body, _caller()))


@app.put("/triggers/backfill/pause", responses=answers("Kestra's trigger JSON", 400, 404, 422))
def pause_backfill(body: TriggerRef):
    return searches.trigger_context(_tenant(), body, backfill_service.pause(_tenant(), body))


@app.put("/triggers/backfill/unpause", responses=answers("Kestra's trigger JSON", 400, 404, 422))
def unpause_backfill(body: TriggerRef):
    return searches.trigger_context(_tenant(), body, backfill_service.unpause(_tenant(), body))


@app.post("/triggers/backfill/delete", responses=answers("Kestra's trigger JSON", 400, 404, 422))
def delete_backfill(body: BackfillDelete):
    return searches.trigger_context(_tenant(), body, backfill_service.delete(_tenant(), body, body.kill))


BULK_ACTIONS = ("pause", "unpause", "delete")


def _bulk_action(action: str) -> str:
    if action not in BULK_ACTIONS:
        raise NotFound(f"No route for backfill action '{action}': use one of {', '.join(BULK_ACTIONS)}")
    return action


@app.post(
    "/triggers/backfill/<action>/by-triggers", responses=answers("How many triggers' backfills changed", 400, 404, 422)
)
def bulk_by_triggers(action: str, body: list[TriggerRef]):
    return {"count": backfill_service.bulk(_tenant(), _bulk_action(action), body)}


@app.post("/triggers/backfill/<action>/by-query", responses=answers("How many triggers' backfills changed", 404, 422))
def bulk_by_query(
    action: str,
    namespace: NamespaceQuery = None,
    q: Annotated[str | None, Query()] = None,
):
    refs = backfill_service.triggers_matching(_tenant(), namespace, q)
    return {"count": backfill_service.bulk(_tenant(), _bulk_action(action), refs)}


@app.get("/triggers/search", responses=answers("A page of triggers with their context", 422))
def search_triggers(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter name
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=searches.MAX_TRIGGERS_PAGE_SIZE)] = 25,
):
    return searches.search_triggers(_tenant(), namespace, flowId, page, size)


# Backfills, our resource beside Kestra's trigger routes


@app.get("/backfills", responses=answers("A page of backfills, newest first", 422))
def list_backfills(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter names
    triggerId: TriggerIdQuery = None,  # noqa: N803
    status: Annotated[str | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=searches.MAX_PAGE_SIZE)] = 25,
):
    found = backfill_service.list_backfills(_tenant(), namespace, flowId, triggerId, status)
    return searches.page_of([backfill_resource_json(b) for b in found], page, size)


@app.post("/backfills/dry-run", responses=answers("What the backfill would run and skip", 400, 404, 409, 422))
def dry_run(body: DryRun, size: Annotated[int, Query(ge=1, le=1000)] = 20):
    return backfill_service.dry_run(_tenant(), body, body.backfill, size)


@app.get("/backfills/<backfill_id>", responses=answers("The backfill with its progress", 404))
def get_backfill(backfill_id: RecordIdParam):
    return backfill_resource_json(backfill_service.find_backfill(_tenant(), backfill_id))


@app.patch("/backfills/<backfill_id>", responses=answers("The backfill, changed", 400, 404, 409, 422))
def change_backfill(backfill_id: RecordIdParam, body: BackfillChange):
    changed = backfill_service.change_backfill(_tenant(), backfill_id, body.concurrency, body.paused)
    return backfill_resource_json(changed)


@app.post(
    "/backfills/<backfill_id>/cancel", responses=answers("The backfill, CANCELLING or CANCELLED", 400, 404, 409, 422)
)
def cancel_backfill(backfill_id: RecordIdParam, body: BackfillCancel | None = None):
    kill = body.kill if body else False
    return backfill_resource_json(backfill_service.cancel(_tenant(), backfill_id, kill))


@app.post(
    "/backfills/<backfill_id>/retry-failed",
    responses=answers("How many failed slots run again, and the backfill", 404, 409),
)
def retry_failed(backfill_id: RecordIdParam):
    backfill, queued = backfill_service.retry_failed(_tenant(), backfill_id)
    return {"retried": queued, "backfill": backfill_resource_json(backfill)}


@app.get("/backfills/<backfill_id>/slots", responses=answers("A page of slots with their state", 404, 422))
def backfill_slots(
    backfill_id: RecordIdParam,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=backfill_service.MAX_SLOTS_PAGE_SIZE)] = 100,
):
    slots = backfill_service.slots_page(_tenant(), backfill_id, page, size)
    return {**slots, "results": searches.bounded(slots["results"])}  # 1,000 slots take about 250 kB


# Executions and logs


@app.get("/executions/search", responses=answers("A page of executions", 422))
def search_executions(
    namespace: NamespaceQuery = None,
    flowId: FlowIdQuery = None,  # noqa: N803 - Kestra's parameter name
    state: Annotated[list[searches.ExecutionState] | None, Query()] = None,
    labels: Annotated[list[str] | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=searches.MAX_PAGE_SIZE)] = 25,
    sort: Annotated[str | None, Query()] = None,
):
    return searches.search_executions(_tenant(), namespace, flowId, state or [], labels or [], page, size, sort)


@app.get("/executions/<execution_id>", responses=answers("The execution", 404))
def get_execution(execution_id: RecordIdParam):
    return searches.execution(execution_id)


@app.delete("/executions/<execution_id>/kill", responses=answers("Kill requested", 404, status=202))
def kill_execution(execution_id: RecordIdParam):
    """Kestra's kill: the attempt running the execution stops its task and ends it KILLED."""
    searches.execution(execution_id)  # 404 when it does not exist
    executions_repository.request_kill(execution_id)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body="")


@app.get("/logs/<execution_id>", responses=answers("The execution's log lines", 404))
def get_logs(
    execution_id: RecordIdParam,
    page: Annotated[int | None, Query(ge=1, description="ours: a page of the lines, with size")] = None,
    size: Annotated[
        int | None, Query(ge=1, le=searches.MAX_PAGE_SIZE, description="ours: lines per page; without it, every line")
    ] = None,
):
    """Kestra's answer is every line, when they fit one answer (else a 422 naming size); page and size read
    the lines of a long execution a page at a time."""
    if page is not None and size is None:
        raise Invalid("page: give size with page")
    return searches.execution_logs(execution_id, page, size)


# The API's description: every route above with its models. Paths are relative to /api/v1 (or /api/v1/main).
API_DOCUMENT: dict[str, Any] = {
    "title": "Kestra-compatible schedule backfills",
    "version": "1.0.0",
    "description": "Kestra's flow, trigger, execution and log API, and our backfill controls beside it.",
    "servers": [Server(url="/api/v1"), Server(url="/api/v1/main")],
}
app.enable_swagger(path="/swagger", **API_DOCUMENT)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(
        status_code=HTTPStatus.OK, content_type="application/json", body=app.get_openapi_json_schema(**API_DOCUMENT)
    )


# The web UI: static files from ./ui, shipped with this function (CodeUri functions/api). They hold no data and
# load without the token; every call they make goes through the API routes above, token and all. Not part of
# the API, so registered with app.route and left out of the OpenAPI document.
UI_DIR = Path(__file__).resolve().parent / "ui"
UI_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
UI_ASSET = re.compile(r"[A-Za-z0-9_-]+\.(html|js|css|svg)")  # a plain file name: no slash, no dot-dot
UI_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def _is_ui_asset(path: str) -> bool:
    return path in ("/ui", "/ui/") or (path.startswith("/ui/") and bool(UI_ASSET.fullmatch(path[4:])))


@app.route("/ui", method="GET", include_in_schema=False)  # matches /ui/ too
def ui_index():
    if not app.current_event.path.endswith("/"):  # relative links need the slash; a relative Location keeps the stage
        return Response(status_code=HTTPStatus.FOUND, headers={"Location": "ui/"}, body="")
    return ui_asset("index.html")


@app.route("/ui/<asset>", method="GET", include_in_schema=False)
def ui_asset(asset: str):
    path = UI_DIR / asset
    if not UI_ASSET.fullmatch(asset) or path.resolve().parent != UI_DIR or not path.is_file():
        return _message(HTTPStatus.NOT_FOUND, f"No UI file {asset}")
    return Response(
        status_code=HTTPStatus.OK,
        content_type=UI_TYPES[path.suffix],
        body=path.read_text(encoding="utf-8"),
        headers=dict(UI_HEADERS),
    )


# The API token's own header: IAM's SigV4 owns `Authorization` on AWS.
TOKEN_HEADER = "X-Api-Token"
TOKEN_MAX_AGE_SECONDS = 300


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context) -> dict:
    refused = _refused_without_token(APIGatewayProxyEvent(event)) or _refused_too_large(event)
    return refused or app.resolve(event, context)


def _refused_without_token(event: APIGatewayProxyEvent) -> dict | None:
    """With API_TOKEN_SECRET set, a call without that secret's token is refused before anything is read:
    Powertools validates a body before any middleware runs, so a middleware would tell field names first.

    The token has a header of its own, so it goes with IAM's SigV4 `Authorization`. `Authorization: Bearer`
    is taken too, as Kestra's clients (kestrapy, its docs' curl lines) send it: on the local stack they work
    unchanged; on AWS, API Gateway's IAM check refuses that header before this function runs."""
    secret = settings().api_token_secret
    if not secret or _is_ui_asset(event.path):  # the UI's static files hold no data
        return None
    try:
        # Read on the first call, then from Powertools' cache: a replaced token is taken within its max age.
        token = aws_clients.secrets().get(secret, max_age=TOKEN_MAX_AGE_SECONDS)
    except GetParameterError:
        logger.exception("the API token could not be read from Secrets Manager")
        message = f"{TOKEN_HEADER}: the API token could not be read just now; retry"
        return _proxy_answer(HTTPStatus.SERVICE_UNAVAILABLE, message, {"Retry-After": "5"})
    given = event.headers.get(TOKEN_HEADER) or _bearer(event.headers.get("Authorization"))  # case-insensitive
    if given and hmac.compare_digest(given.encode(), str(token).encode()):
        return None
    message = f"{TOKEN_HEADER}: the API token is required (or Authorization: Bearer <token> where IAM is not used)"
    return _proxy_answer(HTTPStatus.UNAUTHORIZED, message, {"WWW-Authenticate": "Bearer"})


def _bearer(authorization: str | None) -> str | None:
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials if scheme == "Bearer" and credentials else None


def _refused_too_large(event: dict) -> dict | None:
    """Refused unread: parsing a huge body is the cost it would impose."""
    body, limit = event.get("body") or "", settings().max_body_bytes
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size <= limit:
        return None
    message = f"body: {size:,} bytes is more than the {limit:,} bytes a request may carry (API_MAX_BODY_BYTES)"
    return _proxy_answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message)


def _proxy_answer(status: int, message: str, headers: dict[str, str] | None = None) -> dict:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return {"statusCode": status, "headers": headers, "body": json.dumps({"message": message})}
