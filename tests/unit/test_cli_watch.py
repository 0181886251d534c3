"""`backfill watch`'s polling against a small HTTP server that plays the API's answers in turn: a watch rides
out a passing failure (503, as a throttled API answers) and stops at once on a refusal that will not change."""

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rich.console import Console

from backfill_cli.client import ApiClient, ApiError
from backfill_cli.watch import watch_backfill


def progress(status: str, succeeded: int) -> dict:
    counts = {"SUCCEEDED": succeeded, "RUNNING": 11 - succeeded}
    return {"id": "b1", "namespace": "dev", "flowId": "f", "triggerId": "t", "status": status, "counts": counts,
            "total": 11, "slotsPerMinute": 60.0, "etaDate": None, "created": None, "updated": None}  # fmt: skip


class ScriptedApi(ThreadingHTTPServer):
    """Answers each GET with the next (status, body) of its script and records the paths asked."""

    def __init__(self, script: list[tuple[int, dict]]):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.script = iter(script)
        self.asked: list[str] = []


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedApi

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        self.server.asked.append(self.path)
        status, body = next(self.server.script)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def api() -> Iterator[list[ScriptedApi]]:
    servers: list[ScriptedApi] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def serve(api: list[ScriptedApi], script: list[tuple[int, dict]]) -> tuple[ScriptedApi, ApiClient]:
    server = ScriptedApi(script)
    api.append(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ApiClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)


def test_a_watch_rides_out_a_throttled_poll_and_ends_with_the_final_view(api):
    throttled = {"message": "Throttled: try again"}
    script = [(200, progress("RUNNING", 3)), (503, throttled), (503, throttled), (200, progress("SUCCEEDED", 11))]
    server, client = serve(api, script)
    out = io.StringIO()
    ended = watch_backfill(client, "b1", Console(file=out, width=80), interval=0.01)
    assert ended["status"] == "SUCCEEDED"
    assert server.asked == ["/api/v1/backfills/b1"] * 4
    lines = out.getvalue().splitlines()
    assert lines[0] == "b1  dev.f:t  SUCCEEDED" and lines[-1].endswith(" 11 of 11 100%")


def test_a_refusal_while_watching_stops_the_watch(api):
    _, client = serve(api, [(200, progress("RUNNING", 3)), (404, {"message": "Backfill not found: b1"})])
    with pytest.raises(ApiError) as refused:
        watch_backfill(client, "b1", None, interval=0.01)
    assert refused.value.one_line() == "404: Backfill not found: b1"
