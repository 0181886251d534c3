"""Kestra's routes that start, replay, kill or delete one execution. Their literal routes (/replay) are declared
before the run by hand (/executions/{namespace}/{id}), whose two segments they would match too, as Kestra's do."""

import base64
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from backfill_core.errors import Conflict, Invalid
from backfill_core.flows.execution import ENDED_STATES
from backfill_core.flows.labels import normalize_labels
from backfill_core.kestra_api.responses import Execution
from backfill_core.strict_json import json_loads
from routes.common import (
    FlowIdParam,
    KillCascade,
    NamespaceParam,
    RecordIdParam,
    Revision,
    answers,
    refuse_no_cascade,
    tenant,
)

router = Router()


@router.post("/executions/<execution_id>/replay", responses=answers("The new execution", 404, 409))
@router.post("/executions/<execution_id>/actions/replay", responses=answers("The new execution", 404, 409))
def replay_execution(
    execution_id: RecordIdParam,
    taskRunId: Annotated[str | None, Query(max_length=200)] = None,  # noqa: N803 - Kestra's parameter name
    revision: Revision = None,
    breakpoints: Annotated[str | None, Query(description="Kestra's: refused here (no breakpoints)")] = None,
) -> Execution:
    """Kestra's replay: a new execution of an ended one, with its inputs and labels, from its first task;
    `originalId` names the one replayed."""
    from backfill_core.kestra_api.kestra_json import execution_json
    from backfill_core.slots import manual

    if breakpoints is not None:
        raise Invalid("breakpoints: executions here do not stop at breakpoints")
    return execution_json(manual.replay(execution_id, taskRunId, revision))


@router.post("/executions/<execution_id>/restart", responses=answers("The execution, restarted", 404, 409))
@router.post("/executions/<execution_id>/actions/restart", responses=answers("The execution, restarted", 404, 409))
def restart_execution(execution_id: RecordIdParam, revision: Revision = None) -> Execution:
    """Kestra's restart: an ended execution with a FAILED task run runs again, the same execution, from that task;
    the tasks that ended before it are not run again."""
    from backfill_core.kestra_api.kestra_json import execution_json
    from backfill_core.slots import manual

    return execution_json(manual.restart(execution_id, revision))


@router.post("/executions/<namespace>/<flow_id>", responses=answers("The execution, created and queued", 404, 409))
def create_execution(
    namespace: NamespaceParam,
    flow_id: FlowIdParam,
    labels: Annotated[list[str] | None, Query(description="The labels as a list of 'key:value'")] = None,
    wait: Annotated[
        bool, Query(description="Kestra's: wait for the end; refused here: follow it with /executions/{id}/follow")
    ] = False,
    revision: Revision = None,
    scheduleDate: Annotated[  # noqa: N803 - Kestra's parameter name
        datetime | None, Query(description="Run at this date, at most 15 minutes ahead (SQS's delay)")
    ] = None,
    breakpoints: Annotated[str | None, Query(description="Kestra's: refused here (no breakpoints)")] = None,
    kind: Annotated[Literal["NORMAL"] | None, Query(description="Kestra's execution kind: NORMAL only")] = None,
) -> Execution:
    """Kestra's createExecution (a run by hand): inputs as a multipart or urlencoded form, or a JSON object;
    they are data, never rendered, typed and checked as the flow declares them."""
    from backfill_core.kestra_api.kestra_json import execution_json
    from backfill_core.kestra_api.searches import parse_label_filters
    from backfill_core.slots import manual

    if breakpoints is not None:
        raise Invalid("breakpoints: executions here do not stop at breakpoints")
    if wait:
        raise Invalid("wait: an answer cannot wait for the end here (API Gateway's 29 s); follow the execution")
    pairs = parse_label_filters(labels or [])
    try:
        caller_labels = normalize_labels([{"key": key, "value": value} for key, value in pairs])
    except ValueError as exc:
        raise Invalid(f"labels: {exc}") from exc
    execution = manual.start_run(
        tenant(), namespace, flow_id, _inputs(), caller_labels, schedule_date=scheduleDate, revision=revision
    )
    return execution_json(execution)


def _inputs() -> dict[str, Any] | None:
    """The request's inputs, by its media type: Kestra's clients send a multipart form."""
    event = router.current_event
    raw = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    if not raw.strip():
        return None
    content_type = event.headers.get("Content-Type") or ""
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return _form_parts(content_type, raw)
    body = raw.decode()  # not UTF-8: a 400 (errors.py)
    if media == "application/x-www-form-urlencoded":
        fields = parse_qs(body, keep_blank_values=True)
        return {name: values[-1] for name, values in fields.items()}
    if media in ("", "application/json"):
        inputs = json_loads(body)
        if not isinstance(inputs, dict):
            raise Invalid("inputs: the JSON body must be an object of input values")
        return inputs
    raise Invalid(f"Content-Type: '{media}' is not accepted; send the inputs as multipart/form-data or JSON")


def _form_parts(content_type: str, body: bytes) -> dict[str, Any]:
    from email.parser import BytesParser  # a form's parser: imported by the first form, not at the cold start
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    boundary = message.get_boundary()
    if boundary and body.strip() == f"--{boundary}--".encode():
        return {}  # a form without a field
    if not message.is_multipart():
        raise Invalid("inputs: the multipart body could not be read (its boundary is missing or wrong)")
    inputs: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise Invalid("inputs: a part of the form has no name")
        if part.get_filename() is not None:
            raise Invalid(f"inputs.{name}: FILE inputs are not taken by a run by hand here")
        value = part.get_payload(decode=True)  # bytes: a form's text is UTF-8 whatever its part says
        try:
            inputs[name] = value.decode() if isinstance(value, bytes) else ""
        except UnicodeDecodeError as exc:
            raise Invalid(f"inputs.{name}: the value is not UTF-8 text") from exc
    return inputs


@router.delete("/executions/<execution_id>", responses=answers("Deleted", 404, 409, status=204, body=False))
def delete_execution(
    execution_id: RecordIdParam,
    deleteLogs: Annotated[bool, Query()] = True,  # noqa: N803 - Kestra's parameter names
    deleteMetrics: Annotated[bool, Query(description="Kestra's: no metrics are kept here")] = True,  # noqa: N803
    deleteStorage: Annotated[bool, Query(description="its internal-storage files")] = True,  # noqa: N803
):
    """Kestra's delete: the execution, its log lines and its files; one still running is killed first (409)."""
    from backfill_core.slots import manual

    manual.delete(execution_id, delete_logs=deleteLogs, delete_files=deleteStorage)
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type="application/json", body="")


@router.delete("/executions/<execution_id>/actions/kill", responses=answers("Kill requested", 404, 409))
def kill_execution_v2(execution_id: RecordIdParam, isOnKillCascade: KillCascade = True) -> Execution:  # noqa: N803
    """Kestra 2.0's kill: 409 for an ended execution; else its attempt stops its task and ends it KILLING, then
    KILLED. Answers the execution as it is when the kill is asked for."""
    from backfill_core.kestra_api import searches
    from backfill_core.kestra_api.kestra_json import execution_json
    from backfill_core.storage import executions_repository

    refuse_no_cascade(isOnKillCascade)
    found = searches.tenant_execution(tenant(), execution_id)
    if found.state.current in ENDED_STATES:
        raise Conflict(f"Execution is already finished, can't kill it: {execution_id} is {found.state.current}")
    executions_repository.request_kill(execution_id)
    return execution_json(found)
