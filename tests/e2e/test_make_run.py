"""What `make run` shows a person: the URLs it serves, the UI at the root, a line per request, and a busy port
refused in one line that names the port and how to pick another."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack, start_stack

# werkzeug's line for a request to moto's server, e.g. `127.0.0.1 - - [02/Dec/2026 19:20:40] "POST / HTTP/1.1" 200 -`
WERKZEUG_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" \d{3}')


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory)
    yield running
    if running.process.poll() is None:
        assert running.interrupt() == 0, running.output()


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def busy_port_line(port: int) -> str:
    return (
        f"Port {port} is in use on 127.0.0.1: stop what uses it, or pick another with `make run PORT=...` "
        "(python -m local --port ...)."
    )


def test_a_busy_port_is_refused_in_one_line_naming_it(busy_port, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "local", "--port", str(busy_port), "--state-dir", str(tmp_path / "state")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == [busy_port_line(busy_port)]
    assert not (tmp_path / "state").exists()  # refused before anything started


def test_make_run_takes_the_port_from_port(busy_port):
    # -o: the venv is the suite's, so make is not to install into it; -s: make does not echo the command.
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.run-installed", "run", f"PORT={busy_port}"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},  # `make test`'s
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    ours, *make_says = done.stderr.splitlines()
    assert ours == busy_port_line(busy_port)
    assert all(line.startswith("make: ***") for line in make_says), done.stderr  # make's own `Error 1`


def banner_url(stack: RunningStack, label: str) -> str:
    found = re.search(rf"^{label}\s+(http://\S+)", stack.output(), re.M)
    assert found, f"no {label} line in the banner:\n{stack.output()}"
    return found.group(1)


def test_the_banner_names_the_api_ui_and_swagger_and_each_answers(stack):
    api, ui, swagger = (banner_url(stack, label) for label in ("Kestra backfill API", "web UI", "Swagger UI"))
    document = re.search(r"OpenAPI document: (http://\S+)\)", stack.output())
    assert document, stack.output()
    base = f"http://127.0.0.1:{stack.port}"
    assert (api, ui, swagger, document.group(1)) == (
        f"{base}/api/v1",
        f"{base}/ui/",
        f"{base}/api/v1/swagger",
        f"{base}/api/v1/openapi.json",
    )

    flows = requests.get(f"{api}/flows/search", timeout=10)
    assert flows.status_code == 200 and flows.json()["total"] >= 2, flows.text
    page = requests.get(ui, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    swagger_page = requests.get(swagger, timeout=10)
    assert swagger_page.status_code == 200 and "swagger-ui" in swagger_page.text
    assert "/triggers" in requests.get(document.group(1), timeout=10).json()["paths"]


def test_the_root_leads_to_the_ui(stack):
    root = requests.get(stack.url + "/", allow_redirects=False, timeout=10)
    assert root.status_code == 302 and root.headers["Location"] == "/ui/"
    followed = requests.get(stack.url + "/", timeout=10)
    assert followed.url == stack.url + "/ui/"
    assert followed.status_code == 200 and followed.headers["Content-Type"].startswith("text/html")


def test_each_request_is_one_line_with_method_path_status_and_time(stack):
    unknown = f"/api/v1/executions/{uuid.uuid4().hex}"
    assert requests.get(stack.url + unknown, timeout=10).status_code == 404
    misspelt = {"namespace": "dev", "flowId": "scheduled_flow", "triggerId": "schedule", "concurency": 2}
    assert requests.put(f"{stack.url}/api/v1/triggers", json=misspelt, timeout=10).status_code == 422
    assert requests.get(f"{stack.url}/api/v1/flows/search?namespace=dev", timeout=10).status_code == 200

    expected = [
        rf"GET {unknown} 404 \d+ ms",
        r"PUT /api/v1/triggers 422 \d+ ms",
        r"GET /api/v1/flows/search\?namespace=dev 200 \d+ ms",
    ]

    def logged() -> list[str]:
        lines = stack.output().splitlines()
        return [line for line in lines if any(re.fullmatch(pattern, line) for pattern in expected)]

    deadline = time.monotonic() + 10
    while len(logged()) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [line.rsplit(" ", 3)[0] for line in logged()[-3:]] == [
        f"GET {unknown}",
        "PUT /api/v1/triggers",
        "GET /api/v1/flows/search?namespace=dev",
    ], stack.output()
    assert sum(unknown in line for line in stack.output().splitlines()) == 1  # one line per request
    # Each of those calls reached moto (DynamoDB) several times: none of its server's lines is shown.
    assert not [line for line in stack.output().splitlines() if WERKZEUG_LINE.search(line)], stack.output()


def test_a_request_line_cannot_write_to_the_terminal(stack):
    """The path is the client's: an escape sequence in it (here, clear the screen) is logged as text."""
    marker = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as raw:
        raw.sendall(f"GET /api/v1/{marker}\x1b[2J HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(65536):  # the whole answer: closing early would cut the server's write short
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 404")
    stack.wait_for(lambda: marker in stack.output(), timeout=10, what="the request's line")
    (line,) = [line for line in stack.output().splitlines() if marker in line]
    assert re.fullmatch(rf"GET /api/v1/{marker}\\x1b\[2J 404 \d+ ms", line), line


def test_the_first_answer_already_holds_the_example_flows(tmp_path):
    """Was: the API served before the example flows were loaded, so a readiness check that polls it (curl until it
    answers) could pass on an empty stack: `GET /api/v1/flows/search` answered 200 with no flow. Now a request made
    from the moment the process starts waits until the flows are there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "local", "--port", str(port), "--state-dir", str(tmp_path / "state")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/v1/flows/search?namespace=dev", timeout=60)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "the stack never listened"
                time.sleep(0.02)
        assert answer.status_code == 200 and answer.json()["total"] == 1, answer.text
    finally:
        process.terminate()
        process.wait(timeout=20)
