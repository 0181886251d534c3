"""Serves the API handler over HTTP: each request becomes an API Gateway REST proxy event."""

import base64
import errno
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .lambda_runtime import LambdaContext

UI_PATH = "/ui/"  # the web UI's page, which the stack's root sends a browser to
MAX_LOGGED_TARGET = 300  # a request line's path and query, as logged; longer ones are cut


class PortUnavailable(Exception):
    """The API's port cannot be listened on; the message is one line that says what to do."""

    def __init__(self, host: str, port: int, problem: OSError):
        if problem.errno == errno.EADDRINUSE:
            what = f"Port {port} is in use on {host}: stop what uses it"
        else:
            what = f"Port {port} cannot be used on {host} ({problem.strerror or problem})"
        super().__init__(f"{what}, or pick another with `make run PORT=...` (python -m local --port ...).")


def check_port(host: str, port: int) -> None:
    """Raise PortUnavailable unless host:port can be listened on, before the stack starts anything else. The
    server binds as http.server does (SO_REUSEADDR), so a port left in TIME_WAIT by the last run is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as problem:
            raise PortUnavailable(host, port, problem) from None


def request_line(method: str, target: str, status: int | str, seconds: float) -> str:
    """What the stack logs of one request: `GET /api/v1/flows/search 200 12 ms`. The path comes from the client,
    so what a terminal would act on (escape sequences, control characters) is written escaped."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in target[:MAX_LOGGED_TARGET])
    if len(target) > MAX_LOGGED_TARGET:
        shown += "..."
    return f"{method} {shown} {status} {round(seconds * 1000)} ms"


def proxy_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, client_ip: str) -> dict:
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    try:
        text, encoded = (body.decode("utf-8"), False) if body else (None, False)
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": split.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": split.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": "/prod" + split.path,
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": client_ip, "userAgent": headers.get("User-Agent")},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class ApiServer:
    """One handler instance behind a lock: a Lambda environment serves one request at a time. `local_routes`: GET
    paths the local stack answers itself (JSON), outside the API's (/local/metrics)."""

    def __init__(
        self,
        handler,
        host: str,
        port: int,
        timeout_seconds: float,
        request_log: Callable[[str], None] | None = None,
        local_routes: dict[str, Callable[[], dict]] | None = None,
    ):
        self.handler = handler
        self.local_routes = local_routes or {}
        self.lock = threading.Lock()
        self.timeout_seconds = timeout_seconds
        self.request_log = request_log  # given a line per request (request_line), once it is answered
        try:
            self.httpd = ThreadingHTTPServer((host, port), self._request_class())
        except OSError as problem:
            raise PortUnavailable(host, port, problem) from None
        self.httpd.daemon_threads = True
        self.serving: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def _request_class(self):
        server = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                started, status = time.perf_counter(), "error"  # the handler raised, unless it answered
                try:
                    status = self._answer()
                finally:
                    if server.request_log:
                        server.request_log(request_line(self.command, self.path, status, time.perf_counter() - started))

            def _answer(self) -> int:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command in ("GET", "HEAD") and urlsplit(self.path).path == "/":
                    # The stack's root is the UI (on AWS, API Gateway routes no root: the UI is $API_URL/ui/).
                    self.send_response(HTTPStatus.FOUND)
                    self.send_header("Location", UI_PATH)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return HTTPStatus.FOUND
                headers = {k: v for k, v in self.headers.items()}
                local = server.local_routes.get(urlsplit(self.path).path)
                if local is not None and self.command == "GET":
                    response = {
                        "statusCode": 200,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.dumps(local()),
                    }
                else:
                    event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
                    with server.lock:
                        response = server.handler(event, LambdaContext("ApiFunction", server.timeout_seconds))
                payload = response.get("body") or ""
                data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
                status = int(response.get("statusCode", 200))
                self.send_response(status)
                sent = set()
                for key, values in (response.get("multiValueHeaders") or {}).items():
                    for value in values:
                        self.send_header(key, value)
                    sent.add(key.lower())
                for key, value in (response.get("headers") or {}).items():
                    if key.lower() not in sent:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return status

            def __getattr__(self, name: str):
                # Every method reaches the handler (TRACE too), which answers one it does not serve in JSON.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
                pass

        return Request

    def serve_in_thread(self) -> threading.Thread:
        self.serving = threading.Thread(target=self.httpd.serve_forever, name="api", daemon=True)
        self.serving.start()
        return self.serving

    def stop(self) -> None:
        if self.serving is not None:  # shutdown() waits for serve_forever: one never started would wait for ever
            self.httpd.shutdown()
        self.httpd.server_close()
