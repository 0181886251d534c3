"""Kestra's HTTP Request task as the task runner makes it: the standard library's urllib, with only the HTTP and
HTTPS handlers (no file://, ftp:// or data: URL, not even through a redirect), no proxy from the runner's
environment, and no connection to the Lambda runtime API or a link-local address (metadata and credential
endpoints), checked on the address actually connected to, redirects and DNS included.

Its properties arrive rendered once by the engine and are sent as they are: a caller's value in the URI, a
header or the body stays data (Kestra renders headers and form fields a second time; here they are not, so a
`{{ }}` inside an input reaches the server as written). Its outputs are Kestra's: `code`, `headers` (a list of
values per name), `uri` and `body` (text), the body bounded so the execution's record keeps it."""

import base64
import http.client
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backfill_core.flows.tasks.http_guard import GuardedHTTP, GuardedHTTPS, Limits, NoRedirect, RequestRefused
from backfill_core.flows.tasks.http_types import LOG_LEVEL_KINDS, http_flag
from backfill_core.schedules.kestra_time import parse_iso_duration

# A task run keeps at most 64 KB of outputs (flows/outputs.py): the body, with its headers, must fit.
MAX_BODY_BYTES = 48 * 1024
DEFAULT_READ_IDLE_SECONDS = 300.0  # Kestra's readIdleTimeout default (5 minutes)
CHUNK = 16 * 1024
USER_AGENT = "Kestra"  # what Kestra's client sends unless a header says otherwise
LOGGED_BODY_CHARS = 2000
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie")  # logged masked

Log = Callable[[str, str, datetime], None]


def _seconds(value: Any, default: float) -> float:
    return parse_iso_duration(str(value)).total_seconds() if value not in (None, "") else default


def _options(props: dict[str, Any]) -> dict[str, Any]:
    """`options` with Kestra's deprecated names mapped onto the current ones, as Kestra maps them."""
    options = dict(props.get("options") or {})
    timeout = dict(options.get("timeout") or {})
    if "connectTimeout" in options:
        timeout.setdefault("connectTimeout", options["connectTimeout"])
    for old in ("readTimeout", "readIdleTimeout"):
        if old in options:
            timeout.setdefault("readIdleTimeout", options[old])
    options["timeout"] = timeout
    if "basicAuthUser" in options or "basicAuthPassword" in options:
        options.setdefault(
            "auth",
            {"type": "BASIC", "username": options.get("basicAuthUser"), "password": options.get("basicAuthPassword")},
        )
    if "logLevel" in options and "logs" not in options:
        options["logs"] = list(LOG_LEVEL_KINDS[str(options["logLevel"]).upper()])
    if props.get("sslOptions") and "ssl" not in options:
        options["ssl"] = props["sslOptions"]
    if "allowFailed" in props and "allowFailed" not in options:
        options["allowFailed"] = props["allowFailed"]
    return options


def _authorization(auth: dict[str, Any] | None) -> str | None:
    """The Authorization header sent up front (BASIC, BEARER); DIGEST answers the server's challenge instead."""
    if not auth or str(auth.get("type", "")).upper() == "DIGEST":
        return None
    if str(auth.get("type", "")).upper() == "BEARER":
        return f"Bearer {auth.get('token') or ''}"
    if auth.get("username") is None or auth.get("password") is None:
        return None  # Kestra sends basic auth only with both
    pair = f"{auth['username']}:{auth['password']}".encode()
    return f"Basic {base64.b64encode(pair).decode()}"


def _multipart(form: dict[str, Any], charset: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in form.items():
        text = value if isinstance(value, str) else _json(value)
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(str(name))}"\r\n\r\n{text}\r\n'.encode(
                charset
            )
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _payload(props: dict[str, Any], charset: str) -> tuple[bytes | None, str | None]:
    """The request's body and its Content-Type, as Kestra builds them: form data (URL-encoded, or multipart
    when `contentType` says so), else `body`; `contentType` (application/json by default) otherwise."""
    content_type = props.get("contentType", "application/json")
    form = props.get("formData")
    if form:
        if content_type == "multipart/form-data":
            return _multipart(form, charset)
        fields = {str(k): v if isinstance(v, (str, list)) else _json(v) for k, v in form.items()}
        return urllib.parse.urlencode(fields, doseq=True).encode(charset), "application/x-www-form-urlencoded"
    if props.get("body") is not None:
        return str(props["body"]).encode(charset), content_type
    return None, content_type


def _read_body(answer, limit: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the task's timeout passed while the response was read")
        chunk = answer.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise RequestRefused(
                f"the response body is more than {limit:,} bytes, more than a task run may keep in its outputs "
                "(Kestra's http.Download writes a response to internal storage instead)"
            )
        chunks.append(chunk)


def _charset(content_type: str | None, default: str) -> str:
    message = http.client.HTTPMessage()
    if content_type:
        message["Content-Type"] = content_type
    return message.get_content_charset() or default


def log_lines(log: Log, kinds: list[str], what: str, headers: list[tuple[str, str]], body: str | None) -> None:
    at = datetime.now().astimezone()
    if f"{what}_HEADERS" in kinds:
        for name, value in headers:
            shown = "******" if name.lower() in SECRET_HEADERS else value
            log("INFO", f"{what.lower()} header {name}: {shown}", at)
    if f"{what}_BODY" in kinds and body is not None:
        log("INFO", f"{what.lower()} body: {body[:LOGGED_BODY_CHARS]}", at)


def run_http_request(props: dict[str, Any], timeout_seconds: float, log: Log) -> tuple[bool, dict[str, Any]]:
    """Make the request; (succeeded, Kestra's outputs). A failure is logged and gives no outputs."""
    return logged_failures(props, log, lambda: _request(props, timeout_seconds, log))


def logged_failures(
    props: dict[str, Any], log: Log, work: Callable[[], tuple[bool, dict[str, Any]]]
) -> tuple[bool, dict[str, Any]]:
    """An HTTP task's work, a refusal or a failed exchange logged as the task's failure, without outputs."""
    at = datetime.now().astimezone
    try:
        return work()
    except RequestRefused as exc:
        log("ERROR", f"Request not made: {exc}", at())
    except urllib.error.URLError as exc:
        log("ERROR", f"Request to {props.get('uri')} failed: {exc.reason}", at())
    except TimeoutError as exc:
        log("ERROR", f"Request to {props.get('uri')} timed out: {exc}", at())
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log("ERROR", f"Request to {props.get('uri')} failed: {type(exc).__name__}: {exc}", at())
    return False, {}


@dataclass
class Exchange:
    """A request made and answered, its body still to be read."""

    uri: str
    answer: Any  # http.client.HTTPResponse, or urllib.error.HTTPError for a 3xx not followed, a 4xx or a 5xx
    options: dict[str, Any]  # Kestra's deprecated names mapped
    logs: list[str]  # what options.logs asks to log
    deadline: float  # time.monotonic() by which the task must be done

    @property
    def code(self) -> int:
        return self.answer.status if self.answer.status is not None else self.answer.code

    def headers(self) -> dict[str, list[str]]:
        """Kestra's `headers` output: each name with its values."""
        headers: dict[str, list[str]] = {}
        for name, value in self.answer.headers.items():
            headers.setdefault(name, []).append(value)
        return headers

    def allowed(self) -> bool:
        """Kestra's judgement of the status: one of allowedResponseCodes, else below 400 unless allowFailed."""
        allowed = self.options.get("allowedResponseCodes")
        allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
        if allowed:
            return self.code in [int(code) for code in allowed]
        return self.code < 400 or http_flag(self.options.get("allowFailed"), "allowFailed", False)


def _request(props: dict[str, Any], timeout_seconds: float, log: Log) -> tuple[bool, dict[str, Any]]:
    exchange = open_exchange(props, timeout_seconds, log)
    options, charset, answer = exchange.options, _charset_of(exchange.options), exchange.answer
    limit = min(MAX_BODY_BYTES, int(options.get("maxContentLength") or MAX_BODY_BYTES))
    with answer:
        raw = _read_body(answer, limit, exchange.deadline)
    try:
        body = raw.decode(_charset(answer.headers.get("Content-Type"), charset)) if raw else None
    except (UnicodeDecodeError, LookupError) as exc:
        raise RequestRefused(f"the response body is not text ({exc}); the Request task keeps text only") from exc
    log_lines(log, exchange.logs, "RESPONSE", list(answer.headers.items()), body)
    outputs = {"uri": exchange.uri, "code": exchange.code, "headers": exchange.headers(), "body": body}
    return (True, outputs) if judged(exchange, log) else (False, {})


def judged(exchange: Exchange, log: Log) -> bool:
    """Whether the status lets the task succeed, logged as Kestra logs it."""
    at = datetime.now().astimezone()
    if not exchange.allowed():
        log("ERROR", f"Failed http request with response code '{exchange.code}' from {exchange.uri}", at)
        return False
    log("DEBUG", f"Request '{exchange.uri}' with the response code '{exchange.code}'", at)
    return True


def _charset_of(options: dict[str, Any]) -> str:
    return str(options.get("defaultCharset") or "UTF-8")


def open_exchange(props: dict[str, Any], timeout_seconds: float, log: Log) -> Exchange:
    """Send the request through the guarded handlers; the response, whatever its status, body unread."""
    options = _options(props)
    timeouts = options["timeout"]
    deadline = time.monotonic() + timeout_seconds
    read = min(_seconds(timeouts.get("readIdleTimeout"), DEFAULT_READ_IDLE_SECONDS), timeout_seconds)
    limits = Limits(min(_seconds(timeouts.get("connectTimeout"), read), timeout_seconds), read, deadline)
    uri = str(props["uri"]).strip().replace(" ", "%20")
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestRefused(f"'{uri[:200]}' is not an http:// or https:// URL")
    charset = _charset_of(options)
    data, content_type = _payload(props, charset)
    method = str(props.get("method") or "GET").upper()
    request = urllib.request.Request(uri, data=data, method=method)  # noqa: S310 - http(s) only, checked above
    request.add_header("User-agent", USER_AGENT)
    if content_type:
        request.add_header("Content-type", content_type)
    authorization = _authorization(options.get("auth"))
    if authorization:
        request.add_header("Authorization", authorization)
    for name, value in (props.get("headers") or {}).items():
        request.add_header(str(name), "" if value is None else _json(value) if isinstance(value, bool) else str(value))
    context = ssl.create_default_context()
    if http_flag((options.get("ssl") or {}).get("insecureTrustAllCertificates"), "insecureTrustAllCertificates", False):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    handlers: list[urllib.request.BaseHandler] = [
        GuardedHTTP(limits),
        GuardedHTTPS(limits, context),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ]
    auth = options.get("auth") or {}
    if str(auth.get("type", "")).upper() == "DIGEST":
        if not auth.get("username") or auth.get("password") is None:
            raise RequestRefused("digest authentication requires both `username` and `password`")
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, uri, str(auth["username"]), str(auth["password"]))  # this host and port only
        handlers.append(urllib.request.HTTPDigestAuthHandler(passwords))
    follow = http_flag(options.get("followRedirects"), "followRedirects", True)
    handlers.append(urllib.request.HTTPRedirectHandler() if follow else NoRedirect())
    opener = urllib.request.OpenerDirector()
    for handler in handlers:
        opener.add_handler(handler)
    logs = [str(kind) for kind in options.get("logs") or []]
    log_lines(log, logs, "REQUEST", request.header_items(), data.decode(charset, "replace") if data else None)
    try:
        answer = opener.open(request, timeout=limits.read_seconds)
    except urllib.error.HTTPError as failed:
        answer = failed  # a 3xx not followed, a 4xx or 5xx: the response, judged by the task
    return Exchange(uri, answer, options, logs, deadline)
