"""Kestra's HTTP Download task as the task runner makes it: http.Request's request, through the same guard
(tasks/http_request.py, tasks/http_guard.py), its response body streamed to a temporary file of at most
MAX_FILE_BYTES (never held in memory), then kept as a kestra:// file of the task run (tasks/storage_files.py).

As Kestra: a status of 400 or more fails it unless allowed (options.allowFailed, allowedResponseCodes), an empty
body fails it unless `failOnEmptyResponse` is false or failures are allowed, a body shorter or longer than its
Content-Length fails it. The file is named by `saveAs`, else by the response's Content-Disposition file name
(its last path segment, URL-encoded), else by a random id with the URI's extension. Outputs: `uri` (the file),
`code`, `headers`, `length`."""

import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import datetime
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from backfill_core.flows.tasks.http_guard import RequestRefused
from backfill_core.flows.tasks.http_request import Exchange, Log, judged, log_lines, logged_failures, open_exchange
from backfill_core.flows.tasks.http_types import http_flag, save_as_problem
from backfill_core.flows.tasks.internal_storage import MAX_FILE_BYTES, TaskStorage
from backfill_core.flows.tasks.storage_files import put_file

CHUNK = 1024 * 1024


def run_http_download(
    props: dict[str, Any],
    timeout_seconds: float,
    storage: TaskStorage | None,
    log: Log,
    stop: threading.Event | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Download into the internal storage; (succeeded, Kestra's outputs). A failure is logged and gives no
    outputs. `stop`, once set (the task was killed), ends the transfer before anything is stored."""
    if storage is None:
        log("ERROR", "Request not made: the internal storage is not given to this task", datetime.now().astimezone())
        return False, {}
    try:
        return logged_failures(props, log, lambda: _download(props, timeout_seconds, storage, log, stop))
    except (ClientError, BotoCoreError) as exc:
        log("ERROR", f"The downloaded file could not be stored: {exc}", datetime.now().astimezone())
        return False, {}


def _download(
    props: dict[str, Any], timeout_seconds: float, storage: TaskStorage, log: Log, stop: threading.Event | None
) -> tuple[bool, dict[str, Any]]:
    exchange = open_exchange(props, timeout_seconds, log)
    options = exchange.options
    limit = min(MAX_FILE_BYTES, int(options.get("maxContentLength") or MAX_FILE_BYTES))
    with exchange.answer as answer, tempfile.TemporaryFile() as file:
        log_lines(log, exchange.logs, "RESPONSE", list(answer.headers.items()), None)
        if not judged(exchange, log):
            return False, {}
        size = _copy(answer, file, limit, exchange.deadline, stop)
        expected = answer.headers.get("Content-Length")
        if expected is not None and str(props.get("method") or "GET").upper() != "HEAD" and int(expected) != size:
            raise ValueError(f"Invalid size, got {size}, expected {expected}")
        at = datetime.now().astimezone()
        if size == 0:
            allow_failed = http_flag(options.get("allowFailed"), "allowFailed", False)
            if http_flag(props.get("failOnEmptyResponse"), "failOnEmptyResponse", True) and not allow_failed:
                log("ERROR", f"No response from server: {exchange.uri} gave an empty body (failOnEmptyResponse)", at)
                return False, {}
            log("WARN", f"File '{exchange.uri}' is empty", at)
        file.seek(0)
        uri = put_file(storage, file, _file_name(props, exchange))
    log("DEBUG", f"File '{exchange.uri}' downloaded to '{uri}'", datetime.now().astimezone())
    return True, {"uri": uri, "code": exchange.code, "headers": exchange.headers(), "length": size}


def _copy(answer: Any, file: IO[bytes], limit: int, deadline: float, stop: threading.Event | None) -> int:
    size = 0
    while chunk := answer.read(CHUNK):
        _unless_stopped(stop)
        if time.monotonic() > deadline:
            raise TimeoutError("the task's timeout passed while the response was read")
        size += len(chunk)
        if size > limit:
            raise RequestRefused(f"the response body is more than {limit:,} bytes, more than a stored file may have")
        file.write(chunk)
    _unless_stopped(stop)
    return size


def _unless_stopped(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise RequestRefused("the task was killed while its response was read")


def _file_name(props: dict[str, Any], exchange: Exchange) -> str:
    """`saveAs`; else Content-Disposition's file name as Kestra keeps it (its last segment, URL-encoded); else a
    random id with the extension of the URI's last segment, as Kestra's temporary file has."""
    if props.get("saveAs") is not None:
        problem = save_as_problem(str(props["saveAs"]))
        if problem:
            raise RequestRefused(problem)
        return str(props["saveAs"])
    given = exchange.answer.headers.get_filename()
    if given:
        name = urllib.parse.quote_plus(given.rsplit("/", 1)[-1], safe="*")
        if name not in ("", ".", ".."):
            return name
    segment = urllib.parse.urlsplit(exchange.uri).path.rsplit("/", 1)[-1]
    extension = segment[segment.index(".") :] if "." in segment else ""
    return f"{uuid.uuid4().hex[:22]}{extension}"
