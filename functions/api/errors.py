"""The one place errors become HTTP answers: the domain's typed errors, AWS throttling, and the request
failures Powertools raises before a route runs, each as `{"message": ...}` naming the field."""

from http import HTTPStatus
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import ClientError

from backfill_core.errors import BadRequest, Conflict, DomainError, Invalid, NotFound
from backfill_core.kestra_api.requests import ErrorMessage
from backfill_core.storage.batches import Unprocessed

logger = Logger(service="api")
router = Router()


def request_of(path: str, query: dict[str, list[str]] | None) -> str:
    """The request as Kestra's errors link it (`_links.self.href`): its path and query."""
    return path + (f"?{urlencode(query, doseq=True)}" if query else "")


def message(status: int, text: str) -> Response:
    event = BaseRouter.current_event
    body = ErrorMessage.about(text, request_of(event.path, event.multi_value_query_string_parameters))
    return Response(status_code=status, content_type="application/json", body=body)


STATUS_OF = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Invalid: HTTPStatus.UNPROCESSABLE_ENTITY,
}


@router.exception_handler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    kind = next(kind for kind in type(exc).__mro__ if kind in STATUS_OF)
    return message(STATUS_OF[kind], exc.message)


THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
RETRY_AFTER_SECONDS = 2


def _throttled(exc: ClientError) -> bool:
    """DynamoDB refused for load after botocore's own retries; inside a transaction, as a cancellation reason."""
    if exc.response.get("Error", {}).get("Code") in THROTTLED:
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(r.get("Code") in ("ThrottlingError", "ProvisionedThroughputExceeded") for r in reasons)


@router.exception_handler(ClientError)
def _aws_error(exc: ClientError) -> Response:
    """Throttling is the one AWS failure a caller can do something about: wait and send it again."""
    if not _throttled(exc):
        raise exc
    logger.warning("DynamoDB throttled a request", extra={"code": exc.response["Error"].get("Code")})
    return _try_again()


@router.exception_handler(Unprocessed)
def _held_back(exc: Unprocessed) -> Response:
    """A batch read DynamoDB kept holding back part of, after every retry: throttling too."""
    logger.warning("DynamoDB held back part of a batch", extra={"left": exc.left})
    return _try_again()


def _try_again() -> Response:
    return Response(
        status_code=HTTPStatus.SERVICE_UNAVAILABLE,
        content_type="application/json",
        body=ErrorMessage.about(
            f"DynamoDB is throttling requests; try again in {RETRY_AFTER_SECONDS} seconds (Retry-After)",
            request_of(router.current_event.path, router.current_event.multi_value_query_string_parameters),
        ),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _form_body() -> bool:
    content_type = (router.current_event.headers.get("Content-Type") or "").lower()
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/"))


@router.exception_handler(RequestUnsupportedContentType)
def _unsupported_media_type(exc: Exception | None = None) -> Response:
    """A JSON route given another media type (curl -d sends a form) says so, rather than list every field."""
    content_type = (router.current_event.headers.get("Content-Type") or "").split(";")[0].strip()
    return message(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"Content-Type: '{content_type}' is not accepted; send the body as JSON with Content-Type: application/json",
    )


@router.exception_handler(UnicodeDecodeError)
def _not_utf8(exc: UnicodeDecodeError) -> Response:
    return message(HTTPStatus.BAD_REQUEST, "Request body is not UTF-8 text")


@router.exception_handler(RecursionError)
def _too_deep(exc: RecursionError) -> Response:
    """JSON arrays in arrays, thousands deep: the parser gives up before any route sees the body."""
    return message(HTTPStatus.BAD_REQUEST, "Request body is nested too deeply to read")


@router.exception_handler(ValueError)
def _unparsable_form(exc: ValueError) -> Response:
    """Powertools raises a bare ValueError for a multipart body without its boundary; anything else is a bug."""
    if _form_body():
        return _unsupported_media_type()
    raise exc


@router.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return message(HTTPStatus.BAD_REQUEST, "Request body is not valid JSON")
    if _form_body() and any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors):
        return _unsupported_media_type()
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(location) or "body"
        if error.get("loc") == ("body",) and error.get("type") == "missing":
            parts.append("body: a JSON object is required")
            continue
        if error.get("type") == "extra_forbidden":  # a misspelt or unsupported field must not pass for honoured
            parts.append(f"{field}: not a field this API knows (a misspelling, or a setting it does not support)")
            continue
        parts.append(f"{field}: {error.get('msg', 'is invalid').removeprefix('Value error, ')}")
    return message(HTTPStatus.UNPROCESSABLE_ENTITY, "; ".join(parts))


@router.exception_handler(NotFoundError)
def _not_found(exc: NotFoundError) -> Response:
    event = router.current_event
    return message(HTTPStatus.NOT_FOUND, f"No route for {event.http_method} {event.path}")
