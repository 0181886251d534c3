"""`make run`: start the local stack in the foreground; Ctrl-C stops it."""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .api_server import PortUnavailable, check_port
from .aws_template import ROOT
from .lambda_runtime import ensure_layer_on_path
from .stack import LocalStack
from .state import StateError

ensure_layer_on_path()
from backfill_core.settings import SettingsError  # noqa: E402

DEFAULT_STATE_DIR = ROOT / ".local-state"


def port_number(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0 takes any free port)")
    return port


def print_line(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8080, help="the API's and UI's port (default: 8080)")
    parser.add_argument("--executors", type=int, default=2, help="concurrent executor pollers")
    parser.add_argument("--visibility-timeout", type=int, help="override the work queue's visibility timeout")
    parser.add_argument("--scheduler-interval", type=float, default=60.0)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where flows, backfills, executions, logs and queued messages are kept across restarts "
        "(default: .local-state/ in the project)",
    )
    parser.add_argument("--fresh", action="store_true", help="delete the state kept in --state-dir and start empty")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a function setting")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:  # before anything starts: a busy port is one line, not a stack started and stopped again
        check_port(args.host, args.port)
    except PortUnavailable as problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    settings = dict(item.split("=", 1) for item in args.set)
    stack = LocalStack(
        host=args.host,
        port=args.port,
        executors=args.executors,
        settings=settings,
        visibility_timeout=args.visibility_timeout,
        scheduler_interval=args.scheduler_interval,
        state_dir=args.state_dir,
        fresh=args.fresh,
        request_log=print_line,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stack.start()
        print(stack.describe(), flush=True)
        print("Ready. Press Ctrl-C to stop.", flush=True)
        stopped.wait()
    except (StateError, SettingsError, PortUnavailable) as problem:
        print(f"The local stack cannot start: {problem}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping the local stack...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
