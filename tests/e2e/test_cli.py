"""The `backfill` command line against the local stack, as a person runs it: in a terminal 80 columns wide for
`watch`, through a stand-in API Gateway that checks SigV4 as AWS does, and with the API's refusals."""

import datetime
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.conftest import API_TOKEN

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = 80
OUTAGE = ["--start", "2024-03-28T06:30:00Z", "--end", "2024-03-28T11:30:00Z"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
SLOW_FLOW = """\
id: slow_export
namespace: cli.tests
tasks:
  - id: export
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 60
triggers:
  - id: yearly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 1 1 *"
"""


def cli_env(**extra: str) -> dict[str, str]:
    """The CLI's package on the path (as `make` installs it), no AWS or token settings of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BACKFILL_"))}
    return {**env, "PYTHONPATH": str(ROOT / "cli"), "COLUMNS": str(COLUMNS), "TERM": "xterm", **extra}


def backfill(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backfill_cli", *args],
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Terminal:
    """The CLI on a pseudo-terminal of COLUMNS columns, as a person's shell runs it."""

    def __init__(self, *args: str):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backfill_cli", *args], stdin=slave, stdout=slave, stderr=slave, env=cli_env()
        )
        os.close(slave)
        self.raw = b""

    def read(self, until: float) -> bool:
        """Reads what the CLI wrote until `until` (monotonic); False once it closed the terminal."""
        while time.monotonic() < until:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: every end of the terminal is closed
                    return False
                if not chunk:
                    return False
                self.raw += chunk
        return True

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen_text() and self.read(min(deadline, time.monotonic() + 0.5)):
            if time.monotonic() > deadline:
                break
        assert text in self.screen_text(), self.screen_text()

    def finish(self, timeout: float) -> int:
        self.read(time.monotonic() + timeout)
        try:
            return self.process.wait(timeout=5)
        finally:
            os.close(self.master)

    def screen_text(self) -> str:
        return ANSI.sub("", self.raw.decode(errors="replace"))

    def lines(self) -> list[str]:
        """Every line drawn, redraws included, without the terminal's control sequences."""
        return [line.rstrip() for line in re.split(r"\r\n|\r|\n", self.screen_text()) if line.strip()]


def test_create_and_watch_draws_the_bar_to_11_of_11_and_exits_0(local_stack):
    terminal = Terminal(
        "--url", local_stack.url, "create", "dev.scheduled_flow", *OUTAGE, "--label", "reason=outage",
        "--concurrency", "11", "--watch", "--interval", "0.5",
    )  # fmt: skip
    assert terminal.finish(timeout=90) == 0, terminal.screen_text()
    lines = terminal.lines()
    assert all(len(line) <= COLUMNS for line in lines), lines
    heading, details, bar = lines[-3:]
    assert heading.endswith("dev.scheduled_flow:schedule  SUCCEEDED"), lines
    assert details.startswith("succeeded 11  "), lines
    assert bar.endswith(" 11 of 11 100%"), lines
    assert sum(" of 11 " in line for line in lines) > 1, "the bar was drawn once, not followed live"

    backfill_id = heading.split()[0]
    shown = json.loads(backfill("--url", local_stack.url, "show", backfill_id, "--json").stdout)
    assert shown["labels"] == [{"key": "reason", "value": "outage"}] and shown["counts"]["SUCCEEDED"] == 11
    listed = backfill("--url", local_stack.url, "list", "--namespace", "dev")
    assert backfill_id in listed.stdout and "SUCCEEDED" in listed.stdout

    slots = json.loads(
        backfill("--url", local_stack.url, "slots", backfill_id, "--state", "SUCCEEDED", "--json").stdout
    )
    assert [s["date"] for s in slots][:2] == ["2024-03-28T06:30:00Z", "2024-03-28T07:00:00Z"] and len(slots) == 11
    logs = backfill("--url", local_stack.url, "logs", slots[0]["executionId"])
    assert logs.returncode == 0 and "processing data for 2024-03-28T06:30:00Z" in logs.stdout


def test_a_dry_run_counts_the_slots_and_starts_nothing(local_stack):
    planned = backfill("--url", local_stack.url, "create", "company.team.scheduled_flow", *OUTAGE, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "11 slots, 11 to run, 0 skipped" in planned.stdout and "Nothing was started" in planned.stdout
    assert re.search(r"^time:  (about \d+:\d\d:\d\d|unknown) \(", planned.stdout, re.M), planned.stdout
    assert re.search(r"^cost:  \$\d+\.\d{4} on AWS$", planned.stdout, re.M), planned.stdout
    assert "       DynamoDB writes: 11 slots x 7.2 units = 79.2 write request units" in planned.stdout
    started = backfill("--url", local_stack.url, "list", "--namespace", "company.team", "--json")
    assert json.loads(started.stdout)["total"] == 0


def test_api_refusals_are_one_line_naming_the_field(local_stack):
    reversed_window = ["--start", "2024-03-28T11:30:00Z", "--end", "2024-03-28T06:30:00Z"]
    refused = backfill("--url", local_stack.url, "create", "dev.scheduled_flow", *reversed_window)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "Error: 422: backfill.start: 2024-03-28T11:30:00Z is after backfill.end 2024-03-28T06:30:00Z"
    ]
    unknown = backfill("--url", local_stack.url, "show", "0000000000000000000000")
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
    assert unknown.stderr.startswith("Error: 404: ")
    no_trigger = backfill("--url", local_stack.url, "create", "dev.scheduled_flow", "nightly", *OUTAGE)
    assert no_trigger.returncode == 2
    assert no_trigger.stderr.strip() == (
        "Error: TRIGGER: dev.scheduled_flow has no Schedule trigger 'nightly' (its Schedule triggers: schedule)"
    )
    both = backfill("--url", local_stack.url, "create", "dev.scheduled_flow", *OUTAGE, "--dry-run", "--watch")
    assert both.returncode == 2 and both.stderr.strip() == "Error: --watch: a dry run starts nothing to watch"


def test_ctrl_c_detaches_and_a_cancelled_backfill_watched_exits_non_zero(local_stack, tmp_path):
    flow_file = tmp_path / "slow_export.yaml"
    flow_file.write_text(SLOW_FLOW)
    pushed = backfill("--url", local_stack.url, "flows", "push", str(flow_file))
    assert pushed.returncode == 0 and "cli.tests.slow_export created, revision 1" in pushed.stdout, pushed.stderr
    pushed_again = backfill("--url", local_stack.url, "flows", "push", str(flow_file))
    assert "cli.tests.slow_export revised, revision 2" in pushed_again.stdout, pushed_again.stderr

    window = ["--start", "2021-01-01T00:00:00Z", "--end", "2023-01-01T00:00:00Z"]
    created = backfill("--url", local_stack.url, "create", "cli.tests.slow_export", *window, "--json")
    assert created.returncode == 0, created.stderr
    backfill_id = json.loads(created.stdout)["backfill"]["id"]

    watching = Terminal("--url", local_stack.url, "watch", backfill_id, "--interval", "0.3")
    watching.wait_for(" of 3 ", timeout=20)
    watching.process.send_signal(signal.SIGINT)
    assert watching.finish(timeout=10) == 130
    assert f"Detached: backfill {backfill_id} carries on" in watching.screen_text()
    still = json.loads(backfill("--url", local_stack.url, "show", backfill_id, "--json").stdout)
    assert still["status"] in ("QUEUED", "RUNNING")

    watching = Terminal("--url", local_stack.url, "watch", backfill_id, "--interval", "0.3")
    watching.wait_for(" of 3 ", timeout=20)
    cancelled = backfill("--url", local_stack.url, "cancel", backfill_id, "--kill")
    assert cancelled.returncode == 0 and cancelled.stdout.startswith(f"Backfill {backfill_id} CANCEL")
    assert watching.finish(timeout=60) == 3, watching.screen_text()
    assert "CANCELLED" in watching.lines()[-3]


REGION = "eu-west-1"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEtoken"
STAGE = "/prod"
TOKEN = API_TOKEN


def test_a_token_is_sent_as_a_bearer_token(guarded_stack):
    listed = backfill("--url", guarded_stack.url, "--token", TOKEN, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["total"] == 0, listed.stderr
    from_env = backfill("--url", guarded_stack.url, "list", "--json", env=cli_env(BACKFILL_API_TOKEN=TOKEN))
    assert from_env.returncode == 0, from_env.stderr
    refused = backfill("--url", guarded_stack.url, "list")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("Error: 401: ") and "X-Api-Token" in refused.stderr


class StandInGateway(ThreadingHTTPServer):
    """API Gateway with AWS_IAM in front of the local stack: a call goes through when botocore, given the same
    request and the credentials it should have been signed with, computes the same Authorization; otherwise
    403 with the gateway's message."""

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.upstream = upstream
        self.signed: list[str] = []
        self.refused: list[str] = []
        self.scopes: set[str] = set()
        self.tokens: set[str | None] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{STAGE}"


class GatewayHandler(BaseHTTPRequestHandler):
    server: StandInGateway

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refusal = self.refusal(body)
        with self.server.lock:
            (self.server.refused if refusal else self.server.signed).append(f"{self.command} {self.path}")
        if refusal:
            return self.answer(403, "application/json", json.dumps({"message": refusal}).encode())
        forwarded = {k: self.headers[k] for k in ("Content-Type", "X-Api-Token") if self.headers.get(k)}
        upstream = requests.request(
            self.command, self.server.upstream + self.path.removeprefix(STAGE), data=body, headers=forwarded, timeout=30
        )
        self.answer(upstream.status_code, upstream.headers.get("Content-Type", ""), upstream.content)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_any  # noqa: N815 - BaseHTTPRequestHandler's names

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def refusal(self, body: bytes) -> str | None:
        given = self.headers.get("Authorization", "")
        if not given.startswith("AWS4-HMAC-SHA256 ") or not self.path.startswith(STAGE + "/"):
            return "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in given.removeprefix("AWS4-HMAC-SHA256 ").split(","))
        self.server.scopes.add(fields["Credential"].split("/", 1)[1])
        self.server.tokens.add(self.headers.get("X-Api-Token"))
        signed_names = fields["SignedHeaders"].split(";")
        headers = {n: self.headers[n] for n in signed_names if n not in ("host", "x-amz-date", "x-amz-security-token")}
        request = AWSRequest(
            method=self.command, url=f"http://{self.headers['Host']}{self.path}", data=body, headers=headers
        )
        when = datetime.datetime.strptime(self.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        if abs((datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - when).total_seconds()) > 300:
            return "Signature expired"
        credentials = Credentials(ACCESS_KEY, SECRET_KEY, self.headers.get("X-Amz-Security-Token"))
        with self.server.lock, mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
        if request.headers["Authorization"] != given:
            return "The request signature we calculated does not match the signature you provided."
        return None


@pytest.fixture
def gateway(guarded_stack):
    server = StandInGateway(guarded_stack.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def aws_env(secret: str = SECRET_KEY) -> dict[str, str]:
    """Fixed fake credentials through the environment, the first link of the AWS credential chain."""
    return cli_env(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
    )


def test_through_a_sigv4_gateway_every_call_is_signed(gateway):
    """Signed, with the token in X-Api-Token beside the signature (IAM owns Authorization)."""
    signed = ["--url", gateway.url, "--sigv4", "--region", REGION, "--token", TOKEN]
    watched = backfill(
        *signed, "create", "dev.scheduled_flow", *OUTAGE, "--label", "reason=gateway", "--concurrency", "11",
        "--watch", "--interval", "0.5", env=aws_env(), timeout=90,
    )  # fmt: skip
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.strip().splitlines()[-1].endswith(" 11 of 11 100%"), watched.stdout
    assert gateway.refused == []
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    assert gateway.scopes == {f"{today}/{REGION}/execute-api/aws4_request"}
    assert gateway.tokens == {TOKEN}
    assert gateway.signed[:2] == [f"GET {STAGE}/api/v1/flows/dev/scheduled_flow", f"PUT {STAGE}/api/v1/triggers"]
    assert all(call.startswith(f"GET {STAGE}/api/v1/backfills/") for call in gateway.signed[2:])

    listed = backfill(*signed, "list", "--namespace", "dev", "--status", "SUCCEEDED", env=aws_env())
    assert listed.returncode == 0 and "dev.scheduled_flow:schedule" in listed.stdout
    assert gateway.signed[-1] == f"GET {STAGE}/api/v1/backfills?namespace=dev&status=SUCCEEDED&page=1&size=25"

    forged = backfill(*signed, "list", env=aws_env(secret="not-the-secret"))
    assert forged.returncode == 1
    assert forged.stderr.strip().splitlines() == [
        "Error: 403: The request signature we calculated does not match the signature you provided."
    ]
    unsigned = backfill("--url", gateway.url, "list", env=aws_env())
    assert unsigned.returncode == 1 and unsigned.stderr.strip() == "Error: 403: Missing Authentication Token"


def test_a_rate_limit_is_set_at_create_shown_and_changed_with_set(local_stack):
    window = ["--start", "2023-05-01T00:00:00Z", "--end", "2023-05-01T02:00:00Z"]  # 5 slots, every 30 minutes
    created = backfill(
        "--url", local_stack.url, "create", "company.team.scheduled_flow", *window, "--concurrency", "5",
        "--max-slots-per-minute", "2", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    backfill_id = json.loads(created.stdout)["backfill"]["id"]
    try:
        shown = backfill("--url", local_stack.url, "show", backfill_id)
        assert "maxSlotsPerMinute 2" in shown.stdout and "(limit 2)" in shown.stdout, shown.stdout
        assert local_stack.get(f"/api/v1/backfills/{backfill_id}")["succeeded"] < 5  # 2 a minute: not yet done

        bad = backfill("--url", local_stack.url, "set", backfill_id, "--max-slots-per-minute", "fast")
        assert bad.returncode == 2 and "--max-slots-per-minute: 'fast'" in bad.stderr
        lifted = backfill("--url", local_stack.url, "set", backfill_id, "--max-slots-per-minute", "none")
        assert lifted.returncode == 0 and lifted.stdout.strip().endswith("maxSlotsPerMinute none"), lifted.stdout
        assert local_stack.get(f"/api/v1/backfills/{backfill_id}")["maxSlotsPerMinute"] is None
    finally:
        backfill("--url", local_stack.url, "cancel", backfill_id)


def test_a_run_window_closed_now_holds_the_backfill_and_show_says_when_it_opens(local_stack):
    hour = datetime.datetime.now(datetime.UTC).hour
    closed = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"  # opens in an hour or more
    window = ["--start", "2023-06-01T00:00:00Z", "--end", "2023-06-01T02:00:00Z"]
    created = backfill(
        "--url", local_stack.url, "create", "company.team.scheduled_flow", *window, "--run-window", closed,
        "--run-zone", "UTC", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)["backfill"]
    try:
        assert answer["status"] == "WAITING_FOR_WINDOW" and answer["nextWindowOpening"], answer
        shown = backfill("--url", local_stack.url, "show", answer["id"])
        assert f"WAITING_FOR_WINDOW (opens {answer['nextWindowOpening']})" in shown.stdout, shown.stdout
        assert f"run window  {closed} UTC, every day" in shown.stdout, shown.stdout
        assert local_stack.get(f"/api/v1/backfills/{answer['id']}")["counts"]["PENDING"] == 5  # nothing sent
    finally:
        backfill("--url", local_stack.url, "cancel", answer["id"])
