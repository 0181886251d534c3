"""The local stack as `make run` starts it, in a subprocess, reached over HTTP."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from local.stack import free_port
from tests.harness import run_kind

ROOT = Path(__file__).resolve().parents[2]
REQUEST_LINE = re.compile(r"^[A-Z]+ /\S* \d{3} \d+ ms$")  # the stack's log of one request
# Debian's Chromium, driven by Playwright (its own browser download needs the internet).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class RunningStack:
    """`python -m local` in a subprocess. Its state directory is its own (beside its log) unless a test passes
    one, to restart a stack on the state another left."""

    def __init__(self, port: int, log_path: Path, *args: str, state_dir: Path | None = None):
        self.port = port
        self.url = f"http://localhost:{port}"
        self.log_path = log_path
        self.state_dir = state_dir or log_path.parent / "state"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", str(port), "--state-dir", str(self.state_dir), *args],
            cwd=ROOT,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Open unless a test passes `--set BACKFILL_API_TOKEN=...`, whatever the developer's shell exports.
            env={**{k: v for k, v in os.environ.items() if k != "BACKFILL_API_TOKEN"}, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 60
        while "Ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def story(self) -> str:
        """The end of the output without its request lines (a test polling the API fills the log with them)."""
        lines = [line for line in self.output().splitlines() if not REQUEST_LINE.match(line)]
        return "\n".join(lines)[-3000:]

    def get(self, path: str, **params) -> dict:
        response = requests.get(self.url + path, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def executions(self, **params) -> list[dict]:
        return self.get("/api/v1/executions/search", size=1000, **params)["results"]

    def backfills(self, **params) -> list[dict]:
        """Executions made by backfills (the live schedule of the example flows may run meanwhile)."""
        return [e for e in self.executions(**params) if run_kind(e) == "backfill"]

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.story()}")

    def kill(self) -> None:
        """SIGKILL: the stack gets no chance to save or stop anything."""
        self.process.kill()
        self.process.wait(timeout=20)

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops `make run`."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
            raise AssertionError(f"the stack did not stop within 20 s of Ctrl-C:\n{self.story()}") from None


def start_stack(tmp_path_factory, prefer_port: int | None = None, *args: str) -> RunningStack:
    port = free_port()
    if prefer_port:
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", prefer_port))
            port = prefer_port
        except OSError:
            pass
    return RunningStack(port, tmp_path_factory.mktemp("stack") / "stack.log", *args)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory)
    yield stack
    if stack.process.poll() is None:
        assert stack.interrupt() == 0, stack.output()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


API_TOKEN = "e2e-token"


@pytest.fixture(scope="module")
def guarded_stack(tmp_path_factory):
    """A stack that takes a call only with the API token (BACKFILL_API_TOKEN), as a team behind a private API
    deploys it."""
    stack = start_stack(tmp_path_factory, None, "--set", f"BACKFILL_API_TOKEN={API_TOKEN}")
    yield stack
    if stack.process.poll() is None:
        stack.interrupt()
