"""Serves the API handler over HTTP: each request becomes an API Gateway REST proxy event."""

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .lambda_runtime import LambdaContext


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
        local_routes: dict[str, Callable[[], dict]] | None = None,
    ):
        self.handler = handler
        self.local_routes = local_routes or {}
        self.lock = threading.Lock()
        self.timeout_seconds = timeout_seconds
        self.httpd = ThreadingHTTPServer((host, port), self._request_class())
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def _request_class(self):
        server = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
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
                self.send_response(response.get("statusCode", 200))
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

            def __getattr__(self, name: str):
                # Every method reaches the handler (TRACE too), which answers one it does not serve in JSON.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
                pass

        return Request

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.httpd.serve_forever, name="api", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
