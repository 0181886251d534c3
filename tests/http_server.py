"""A tiny HTTP server on loopback for the HTTP task's tests: it records every request it gets and answers by
path: `/status/<code>`, `/redirect` (302 to /echo), `/redirect-to/<quoted URL>`, `/big` (a body past what a
task run keeps), `/binary` (bytes that are no text), anything else a JSON echo of the request."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingServer:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_server() -> RecordingServer:
    recording: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recording.append(Received(self.command, self.path, dict(self.headers.items()), body))
            if self.path.startswith("/status/"):
                code = int(self.path.removeprefix("/status/"))
                self._send(code, f"status {code}".encode(), "text/plain")
            elif self.path.startswith("/redirect"):
                self.send_response(302)
                to = self.path.removeprefix("/redirect-to/")
                self.send_header("Location", unquote(to) if to != self.path else "/echo")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big":
                self._send(200, b"a" * 60_000, "text/plain")
            elif self.path == "/binary":
                self._send(200, b"\xff\xfe\xfd", "application/octet-stream; charset=utf-8")
            else:
                echo = {"method": self.command, "path": self.path, "body": body.decode(errors="replace")}
                self._send(200, json.dumps(echo).encode(), "application/json", {"X-Echo": ["one", "two"]})

        def _send(self, code: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, values in (extra or {}).items():
                for value in values:
                    self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            self._answer()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return RecordingServer(server, recording)
