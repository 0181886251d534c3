"""API Gateway handler: Kestra's flow, trigger, execution and log routes, one Router per resource (routes/), the
error mapping (errors.py) and the refusals before a route runs (guards.py), wired here with the OpenAPI document.

The siblings are imported as top-level modules: functions/api is the Lambda's code root, so it is on the import
path on AWS; the local stack puts it there while it loads this file, and gives each load its own copies."""

from backfill_core.cold_start import imports_without_collection

with imports_without_collection():
    from functools import cache
    from http import HTTPStatus
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.logging import correlation_paths

    import errors
    import guards
    import tenants
    from backfill_core.metrics import flushed_by
    from backfill_core.settings import load_settings
    from backfill_core.strict_json import json_loads
    from backfill_core.tracing import traced
    from routes import backfills, executions, flows, logs, runs, trigger_commands, triggers, ui

load_settings()  # the cold start: an invalid or missing setting fails it, naming the variable
logger = Logger(service="api")
metrics = Metrics(service="api")


# Every route answers with and without the tenant segment, as Kestra's do (tenants.py reads which tenant).
app = APIGatewayRestResolver(
    enable_validation=True,
    strip_prefixes=[tenants.API_PREFIX],
    json_body_deserializer=json_loads,
)
app.use(middlewares=[guards.no_list_for_an_object, guards.no_ignored_filters, guards.no_ignored_parameters])
app.include_router(errors.router)
# The OpenAPI document lists them in this order.
for resource in (flows, triggers, trigger_commands, backfills, executions, runs, logs):
    app.include_router(resource.router)


def api_document() -> dict[str, Any]:
    """The API's description: every route above with its models. Paths are relative to /api/v1 (the default
    tenant, main) or /api/v1/{tenant}. Made when asked for: Powertools' OpenAPI models, which only the document and
    the Swagger UI need, are about a sixth of this module's import (bench/cold_start.py)."""
    from aws_lambda_powertools.event_handler.openapi.models import Server, ServerVariable

    return {
        "title": "Kestra-compatible schedule backfills",
        "version": "1.0.0",
        "description": "Kestra's flow, trigger, execution and log API, and our backfill controls beside it.",
        "servers": [
            Server(url="/api/v1"),
            Server(url="/api/v1/main"),
            Server(
                url="/api/v1/{tenant}",
                variables={"tenant": ServerVariable(default="main", description="Any tenant id (Kestra's pattern)")},
            ),
        ],
    }


@cache
def enable_swagger() -> None:
    """Powertools' Swagger UI at /swagger, added by the first request for it (see api_document)."""
    app.enable_swagger(path="/swagger", **api_document())


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(
        status_code=HTTPStatus.OK, content_type="application/json", body=app.get_openapi_json_schema(**api_document())
    )


app.include_router(ui.router)


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@flushed_by(metrics)
def lambda_handler(event: dict, context) -> dict:
    """The token and the body size are checked before `app.resolve` (see guards): Powertools reads and validates
    a body before any middleware runs."""
    if tenants.API_PREFIX.sub("", event.get("path") or "", count=1).rstrip("/") == "/swagger":
        enable_swagger()
    return guards.refused(event) or app.resolve(event, context)
