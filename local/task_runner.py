"""The task runner function, locally: a process apart from the stack, with an environment of its own (no
AWS credentials, no endpoint, no engine settings), serving Lambda's Invoke API on loopback. The executor
reaches it through AWS_ENDPOINT_URL_LAMBDA exactly as it reaches Lambda. Each invocation runs in one of
its worker processes, as Lambda runs each concurrent invocation in an environment of its own; a worker
that dies or overruns the function's timeout is replaced, as Lambda replaces an environment.

    python -m local.task_runner --port 0 --workers 2     (prints `listening on <url>` when ready)
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import queue
import re
import secrets
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .lambda_runtime import ensure_layer_on_path
from .moto_gate import HEADER

ensure_layer_on_path()
from backfill_core.flows.tasks.isolation import COMMAND_UID_VARIABLE, make_non_dumpable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
READY = "listening on "
KEY_VARIABLE = "LOCAL_STACK_KEY"
RUNNER_KEY_VARIABLE = "LOCAL_STACK_RUNNER_KEY"
RUNNER_ACCESS_KEY_ID = "TASKRUNNERROLE"
FIRST_COMMAND_UID = 61000  # when the runner is root; no account has these ids


def _worker(connection, number: int, runner_key: str) -> None:
    """One execution environment: the handler imported once (it contains this process), then invocations.
    It dies with the task runner, taking its task along: a stack killed and restarted must not find an
    attempt of the earlier one still running."""
    from .lambda_runtime import LambdaContext, ensure_layer_on_path, load_handler_module

    ensure_layer_on_path()
    # Each environment's commands run as a user of their own, as each Lambda environment is a machine of its
    # own: a flow cannot read another's `env` in /proc, signal its processes or share its process limit.
    os.environ[COMMAND_UID_VARIABLE] = str(FIRST_COMMAND_UID + number)
    if runner_key:  # S3 as the runner's role reaches it: moto answers this key for S3 only (moto_gate)
        from .moto_gate import send_key_with_every_request

        send_key_with_every_request(runner_key)
    handler = load_handler_module("task_runner").lambda_handler
    threading.Thread(target=_die_with, args=(os.getppid(),), daemon=True).start()
    while True:
        try:
            payload, timeout = connection.recv()
        except EOFError:
            return
        try:
            result = handler(json.loads(payload), LambdaContext("TaskRunnerFunction", timeout))
            connection.send((True, json.dumps(result)))
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda reports it
            connection.send((False, json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})))


class Environment:
    def __init__(self, context, number: int, runner_key: str = ""):
        self.context, self.number, self.runner_key = context, number, runner_key
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, number, runner_key), daemon=True)
        self.process.start()
        child.close()

    def invoke(self, payload: bytes, timeout: float) -> tuple[bool, str] | None:
        """The handler's answer, or None when the environment died or overran its timeout (it is then gone)."""
        try:
            self.connection.send((payload.decode(), timeout))
            if self.connection.poll(timeout):
                return self.connection.recv()
        except (EOFError, OSError):
            pass
        self.process.kill()
        self.process.join()
        return None


class WorkerPool:
    def __init__(self, size: int, timeout: float, runner_key: str = ""):
        self.context = multiprocessing.get_context("spawn")
        self.timeout = timeout
        self.idle: queue.Queue[Environment] = queue.Queue()
        for number in range(size):
            self.idle.put(Environment(self.context, number, runner_key))

    def invoke(self, payload: bytes) -> tuple[bool, str]:
        environment = self.idle.get()
        answer = environment.invoke(payload, self.timeout)
        if answer is None:
            environment = Environment(self.context, environment.number, environment.runner_key)
            answer = (False, json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": self._lost()}))
        self.idle.put(environment)
        return answer

    def _lost(self) -> str:
        return f"the task runner's environment died or ran past the function's {self.timeout:g} s timeout"


def serve(host: str, port: int, workers: int, timeout: float, key: str, runner_key: str = "") -> ThreadingHTTPServer:
    pool = WorkerPool(workers, timeout, runner_key)

    class InvokeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if key and not secrets.compare_digest(self.headers.get(HEADER, ""), key):
                self._answer(HTTPStatus.FORBIDDEN, b'{"message": "the local stack answers only its own requests"}', {})
                return
            if not INVOKE_PATH.match(self.path.split("?")[0]):
                self._answer(HTTPStatus.NOT_FOUND, b'{"message": "not an Invoke call"}', {})
                return
            payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            succeeded, body = pool.invoke(payload)
            self._answer(HTTPStatus.OK, body.encode(), {} if succeeded else {"X-Amz-Function-Error": "Unhandled"})

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), InvokeHandler)
    server.daemon_threads = True
    return server


def clean_environment() -> dict[str, str]:
    """What the task runner process starts with: nothing of the stack's, least of all credentials."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}


def runner_role_environment(s3_url: str) -> dict[str, str]:
    """The runner's own role, as Lambda gives it: credentials of its own (not the stack's), reaching S3 only."""
    return {
        "AWS_ENDPOINT_URL_S3": s3_url,
        "AWS_ACCESS_KEY_ID": RUNNER_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": "task-runner-role",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


class TaskRunnerProcess:
    """The task runner started from the stack (or a test) as a process of its own."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        workers: int = 2,
        timeout: float = 115.0,
        key: str = "",
        s3_url: str = "",
        runner_key: str = "",
    ):
        role = runner_role_environment(s3_url) if s3_url else {}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.task_runner",
                "--host",
                host,
                "--port",
                "0",
                "--workers",
                str(workers),
                "--timeout",
                f"{timeout:g}",
                "--parent",
                str(os.getpid()),
            ],
            cwd=ROOT,
            env={**clean_environment(), **role, KEY_VARIABLE: key, RUNNER_KEY_VARIABLE: runner_key},
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C at the terminal stops the stack, which then stops this
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith(READY):
            self.process.kill()
            raise RuntimeError(f"the task runner did not start: {line!r}")
        self.url = line[len(READY) :].strip()
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self) -> None:
        for line in self.process.stdout:
            sys.stdout.write(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _exit_with(parent: int) -> None:
    """Gone when the stack is gone, even after a SIGKILL that gave it no chance to stop us."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _die_with(parent: int) -> None:
    """A worker whose task runner is gone kills what its task started, then itself."""
    from backfill_core.flows.tasks.isolation import kill_descendants

    while os.getppid() == parent:
        time.sleep(0.5)
    kill_descendants()
    os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.task_runner", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=115.0, help="the function's timeout, in seconds")
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    make_non_dumpable()
    key = os.environ.pop(KEY_VARIABLE, "")  # before the workers start: flow code never has it
    runner_key = os.environ.pop(RUNNER_KEY_VARIABLE, "")
    server = serve(args.host, args.port, args.workers, args.timeout, key, runner_key)
    if args.parent:
        threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    print(f"{READY}http://{args.host}:{server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
