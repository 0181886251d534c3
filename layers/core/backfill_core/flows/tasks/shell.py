"""A script task's shell script, run by the task runner: one /bin/sh script as Kestra runs it (or the task's own
`interpreter`), in a fresh working directory, with an environment of its own (never the runner's), its output
read as it comes and bounded, and stopped at its timeout or on a kill request.

The script is a file, not an argument, so its size is bounded by MAX_SCRIPT_BYTES rather than by the kernel's
128 KiB limit on one argument; only a task's own `interpreter` gets it as its last argument, as Kestra does."""

import contextlib
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from backfill_core.flows.tasks.isolation import CommandUser, command_user, limit_processes

LogSink = Callable[[str, str, datetime], None]
"""Receives (level, message, when) for each line of output."""
KillCheck = Callable[[], bool]

KILL_POLL_SECONDS = 2.0
# Once the script has exited, how long to keep reading output that something it started in the background
# still holds open; then that process is killed with the task.
OUTPUT_GRACE_SECONDS = 1.0
MAX_SCRIPT_BYTES = 1024 * 1024
MAX_ENV_BYTES = 128 * 1024  # the kernel's limit for one environment string (and one argument)
MAX_LINE_BYTES = 64 * 1024
MAX_LOG_LINES = 10_000
MAX_LOG_BYTES = 4 * 1024 * 1024  # of JSON text: the whole answer must fit Lambda's 6 MB response
READ_CHUNK = 64 * 1024
DEFAULT_INTERPRETER = ["/bin/sh", "-c"]

Prepare = Callable[[str, str, dict[str, str]], list[str]]
"""Given (scratch folder, working directory, the script's environment), writes what the task needs before it
starts and adds to the environment; returns the paths its commands must own."""
Collect = Callable[[str], None]
"""Given the working directory of a script that succeeded, keeps what the task keeps of it (outputFiles)."""


class ShellOutcome:
    def __init__(self, exit_code: int, killed: bool = False, wrote_stderr: bool = False):
        self.exit_code, self.killed, self.wrote_stderr = exit_code, killed, wrote_stderr

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.killed


def task_environment(task_env: dict[str, Any] | None, home: str, tmp: str) -> dict[str, str]:
    """PATH and locale, HOME and TMPDIR inside the task's directory, and the task's own `env`. Nothing of the
    process running it: no credentials, no engine settings."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": tmp,
    }
    env.update({str(k): str(v) for k, v in (task_env or {}).items()})
    return env


def script_problem(commands: list[str], env: dict[str, str]) -> str | None:
    """Why the script cannot run as given, naming the property, or None."""
    size = sum(len(c.encode()) for c in commands)
    if size > MAX_SCRIPT_BYTES:
        return f"commands: the rendered commands are {size:,} bytes, more than the {MAX_SCRIPT_BYTES:,} a task may run"
    for name, value in env.items():
        if len(name.encode()) + len(value.encode()) + 1 >= MAX_ENV_BYTES:
            return f"env.{name}: the rendered value is more than the {MAX_ENV_BYTES:,} bytes a variable may hold"
        if "\0" in name or "\0" in value or "=" in name or not name:
            return f"env.{name}: a variable name must be non-empty without '=' and neither may hold a NUL byte"
    return None


class _Output:
    """Splits output into lines as it arrives, each stamped and bounded: a line past MAX_LINE_BYTES keeps its
    start and says how long it was; lines past the task's caps are counted, not kept."""

    def __init__(self, log: LogSink):
        self.log = log
        self.lines = 0
        self.bytes = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self.stderr_bytes = 0
        self.pending: dict[str, bytearray] = {"INFO": bytearray(), "WARN": bytearray()}
        self.line_length: dict[str, int] = {"INFO": 0, "WARN": 0}

    def feed(self, level: str, chunk: bytes) -> None:
        if level == "WARN":
            self.stderr_bytes += len(chunk)
        while chunk:
            end = chunk.find(b"\n")
            part = chunk if end < 0 else chunk[:end]
            room = MAX_LINE_BYTES - len(self.pending[level])
            if room > 0:
                self.pending[level] += part[:room]
            self.line_length[level] += len(part)
            if end < 0:
                return
            self._end_line(level)
            chunk = chunk[end + 1 :]

    def close(self, level: str) -> None:
        if self.line_length[level]:
            self._end_line(level)

    def _end_line(self, level: str) -> None:
        raw, length = bytes(self.pending[level]), self.line_length[level]
        self.pending[level].clear()
        self.line_length[level] = 0
        if raw.endswith(b"\r") and length == len(raw):
            raw, length = raw[:-1], length - 1
        text = raw.decode("utf-8", errors="replace")
        if length > len(raw):
            text += f" [line cut at {len(raw):,} of {length:,} bytes]"
        # What the line costs in the answer: JSON escapes control characters and non-ASCII (\u0001, \ufffd).
        cost = len(json.dumps(text))
        if self.lines >= MAX_LOG_LINES or self.bytes + cost > MAX_LOG_BYTES:
            self.dropped_lines += 1
            self.dropped_bytes += length
            return
        self.lines += 1
        self.bytes += cost
        self.log(level, text, datetime.now(UTC))

    def report_dropped(self) -> None:
        if self.dropped_lines:
            self.log(
                "WARN",
                f"Output cut: {self.dropped_lines:,} more lines ({self.dropped_bytes:,} bytes) past the task's limit "
                f"of {MAX_LOG_LINES:,} lines or {MAX_LOG_BYTES:,} bytes were not kept",
                datetime.now(UTC),
            )


def run_script(
    commands: list[str],
    env_values: dict[str, Any] | None,
    fail_fast: bool,
    log: LogSink,
    timeout: float,
    killed: KillCheck,
    *,
    interpreter: list[str] | None = None,
    prepare: Prepare | None = None,
    collect: Collect | None = None,
) -> ShellOutcome:
    """Run the commands as one script; the first failing command ends it unless fail_fast is off. Each
    command's index is noted in a file outside the working directory before it starts, so a failure or a
    timeout names it (not with an interpreter of the task's own, which may not be a POSIX shell)."""
    user = command_user()
    started = time.monotonic()

    def say(level: str, message: str) -> None:
        log(level, message, datetime.now(UTC))

    with tempfile.TemporaryDirectory(prefix="kestra-task-") as scratch:
        workdir, tmpdir = os.path.join(scratch, "work"), os.path.join(scratch, "tmp")
        step_file, script_file = os.path.join(scratch, "step"), os.path.join(scratch, "script.sh")
        env = task_environment(env_values, workdir, tmpdir)
        problem = script_problem(commands, env)
        if problem:
            say("ERROR", problem)
            return ShellOutcome(exit_code=-1)
        own = interpreter not in (None, DEFAULT_INTERPRETER)
        lines = ["set -e"] if fail_fast else []
        marked = not own and _each_stands_alone(commands)
        for index, command in enumerate(commands):
            lines += [f"echo {index} > '{step_file}'", command] if marked else [command]
        text = "\n".join(lines) + "\n"
        if own and len(text.encode(errors="surrogateescape")) >= MAX_ENV_BYTES:
            say("ERROR", f"interpreter: the script it would get is over the {MAX_ENV_BYTES:,} bytes of one argument")
            return ShellOutcome(exit_code=-1)
        with open(script_file, "w", encoding="utf-8", errors="surrogateescape") as script:
            script.write(text)
        for folder in (workdir, tmpdir):
            os.mkdir(folder)
        try:
            owned = prepare(scratch, workdir, env) if prepare else []
        except ValueError as exc:
            say("ERROR", str(exc))
            return ShellOutcome(exit_code=-1)
        _hand_over(scratch, [workdir, tmpdir, script_file, *owned], user)
        output = _Output(log)
        process = subprocess.Popen(
            [*(interpreter or []), text] if own else ["/bin/sh", script_file],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
            preexec_fn=limit_processes if user else None,
        )
        try:
            ending = _supervise(process, output, started + timeout, killed, say)
        finally:
            _kill_group(process)
            process.wait()
        output.report_dropped()
        current = _current(commands, step_file)
        if ending == "killed":
            say("WARN", f"Task killed on request while running: {current}")
            return ShellOutcome(exit_code=-9, killed=True)
        if ending == "timeout":
            say("ERROR", f"Task timed out after {timeout:g}s; killed: {current}")
            return ShellOutcome(exit_code=-1)
        if process.returncode != 0:
            say("ERROR", f"Command failed with exit code {process.returncode}: {current}")
        elif collect:
            try:
                collect(workdir)
            except ValueError as exc:
                say("ERROR", str(exc))
                return ShellOutcome(exit_code=-1)
        return ShellOutcome(exit_code=process.returncode, wrote_stderr=output.stderr_bytes > 0)


def _each_stands_alone(commands: list[str]) -> bool:
    """Whether each command is a whole shell command by itself, so a marker line may go between them. Kestra
    joins the list with line breaks, so one construct may span several items (`case` ... `esac`, a here-document,
    a line ending in a backslash): then the script runs unmarked, as Kestra's would."""
    for command in commands:
        if "<<" in command or command.rstrip().endswith("\\"):
            return False
        checked = subprocess.run(["/bin/sh", "-n"], input=command.encode(errors="surrogateescape"), capture_output=True)
        if checked.returncode != 0:
            return False
    return True


def _hand_over(scratch: str, paths: list[str], user: CommandUser | None) -> None:
    """The task's files belong to the user its commands run as."""
    if user is None:
        return
    for path in [scratch, *paths]:
        os.chown(path, user.uid, user.gid, follow_symlinks=False)


def _supervise(process: subprocess.Popen, output: _Output, deadline: float, killed: KillCheck, say) -> str | None:
    """Read output until the script ends (and what it left running lets go of its output, or the grace
    passes), the deadline passes or a kill is asked for. A script that closes or redirects its own output
    (`exec > out.log 2>&1`) runs on: the end of its output is not its end. Returns None, "timeout" or
    "killed"."""
    stdout, stderr = process.stdout, process.stderr
    if stdout is None or stderr is None:
        raise ValueError("the script's output must be piped")
    selector = selectors.DefaultSelector()
    selector.register(stdout, selectors.EVENT_READ, "INFO")
    selector.register(stderr, selectors.EVENT_READ, "WARN")
    ending, exited_at, next_check = None, None, time.monotonic() + KILL_POLL_SECONDS
    try:
        while True:
            moment = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = moment
            if exited_at is not None and (not selector.get_map() or moment - exited_at > OUTPUT_GRACE_SECONDS):
                break
            if ending is None and exited_at is None:
                if moment >= deadline:
                    ending = "timeout"
                    _kill_group(process)
                elif moment >= next_check:
                    next_check = moment + KILL_POLL_SECONDS
                    if _asked_to_kill(killed, say):
                        ending = "killed"
                        _kill_group(process)
            wake = min(deadline, next_check) if exited_at is None else exited_at + OUTPUT_GRACE_SECONDS
            pause = min(max(wake - moment, 0.0), 0.2)
            if not selector.get_map():
                time.sleep(pause)  # the output is closed: only the process's end, a kill or the deadline remain
                continue
            for key, _ in selector.select(pause):
                chunk = os.read(key.fd, READ_CHUNK)
                if chunk:
                    output.feed(key.data, chunk)
                else:
                    selector.unregister(key.fileobj)
                    output.close(key.data)
    finally:
        for level in ("INFO", "WARN"):
            output.close(level)
        selector.close()
        stdout.close()
        stderr.close()
    return ending


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _asked_to_kill(killed: KillCheck, say) -> bool:
    """A kill check that fails (a throttled read) is not a kill, and must not leave the task running
    unwatched: the next check asks again."""
    try:
        return killed()
    except Exception as exc:  # noqa: BLE001 - any failure of the check; the task keeps its timeout
        say("WARN", f"Could not check for a kill request: {exc}")
        return False


def _current(commands: list[str], step_file: str) -> str:
    """The command that was running when the script stopped (the whole script when it ran unmarked)."""
    try:
        with open(step_file) as recorded:
            return commands[int(recorded.read().strip())]
    except (OSError, ValueError, IndexError):
        return commands[-1] if len(commands) == 1 else "the script"
