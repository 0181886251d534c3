"""The task types the executor runs: shell Commands (Process runner) and Log."""

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .kestra_time import parse_iso_duration

COMMANDS = "io.kestra.plugin.scripts.shell.Commands"
LOG = "io.kestra.plugin.core.log.Log"
LOG_LEGACY = "io.kestra.core.tasks.log.Log"
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
SUPPORTED_TASK_TYPES = (COMMANDS, LOG, LOG_LEGACY)
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

LogSink = Callable[[str, str], None]
"""Receives (level, message) as the task produces them."""
KillCheck = Callable[[], bool]
"""True once someone asked for the execution to be killed."""
KILL_POLL_SECONDS = 2.0


@dataclass
class TaskOutcome:
    succeeded: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    killed: bool = False


def validate_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a task's properties as `field: problem`, or None."""
    if task_type == COMMANDS:
        commands = props.get("commands")
        if not isinstance(commands, list) or not commands or not all(isinstance(c, str) for c in commands):
            return "commands: a non-empty list of shell commands is required"
        runner = props.get("taskRunner")
        if runner is not None and (not isinstance(runner, dict) or runner.get("type") != PROCESS_RUNNER):
            return f"taskRunner.type: only '{PROCESS_RUNNER}' is supported"
        if props.get("runner") not in (None, "PROCESS"):
            return "runner: only PROCESS is supported"
        if "env" in props and not isinstance(props["env"], dict):
            return "env: a map of variable names to values is required"
    else:
        message = props.get("message")
        if not (isinstance(message, str) or (isinstance(message, list) and message)):
            return "message: a message (or a list of messages) is required"
        if str(props.get("level", "INFO")).upper() not in LOG_LEVELS:
            return f"level: must be one of {', '.join(LOG_LEVELS)}"
    timeout = props.get("timeout")
    if isinstance(timeout, str) and "{{" not in timeout:
        try:
            parse_iso_duration(timeout)
        except ValueError as exc:
            return f"timeout: {exc}"
    return None


def run_task(
    task_type: str, props: dict[str, Any], log: LogSink, budget_seconds: float, killed: KillCheck = lambda: False
) -> TaskOutcome:
    """Run one task with rendered properties; `budget_seconds` bounds it whatever its own timeout says."""
    timeout = budget_seconds
    if props.get("timeout"):
        timeout = min(timeout, parse_iso_duration(str(props["timeout"])).total_seconds())
    if task_type == COMMANDS:
        return _run_commands(props, log, timeout, killed)
    messages = props["message"] if isinstance(props["message"], list) else [props["message"]]
    for message in messages:
        log(str(props.get("level", "INFO")).upper(), str(message))
    return TaskOutcome(succeeded=True)


def _run_commands(props: dict[str, Any], log: LogSink, timeout: float, killed: KillCheck) -> TaskOutcome:
    """The commands run as one /bin/sh script, as Kestra runs them: `cd` and variables carry over, and
    with failFast (the default) the first failing command ends the task. Each command's index is noted
    in a file outside the working directory before it starts, so a failure or a timeout names it."""
    commands: list[str] = props["commands"]
    env = {**os.environ, **{str(k): str(v) for k, v in (props.get("env") or {}).items()}}
    with tempfile.TemporaryDirectory(prefix="kestra-task-") as scratch:
        workdir, step_file = os.path.join(scratch, "work"), os.path.join(scratch, "step")
        os.mkdir(workdir)
        lines = ["set -e"] if props.get("failFast", True) else []
        for index, command in enumerate(commands):
            lines += [f"echo {index} > '{step_file}'", command]
        process = subprocess.Popen(
            ["/bin/sh", "-c", "\n".join(lines)],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    # Waking every few seconds to ask whether a kill was requested loses no output.
                    left = max(deadline - time.monotonic(), 0.0)
                    stdout, stderr = process.communicate(timeout=min(left, KILL_POLL_SECONDS))
                    break
                except subprocess.TimeoutExpired:
                    kill = _asked_to_kill(killed, log)
                    if not kill and time.monotonic() < deadline:
                        continue
                    os.killpg(process.pid, signal.SIGKILL)
                    stdout, stderr = process.communicate()
                    _log_lines(log, stdout, stderr)
                    if kill:
                        log("WARN", f"Task killed on request while running: {_current(commands, step_file)}")
                        return TaskOutcome(succeeded=False, outputs={"exitCode": -9}, killed=True)
                    log("ERROR", f"Task timed out after {timeout:g}s; killed: {_current(commands, step_file)}")
                    return TaskOutcome(succeeded=False, outputs={"exitCode": -1})
        finally:
            if process.poll() is None:  # whatever stopped this attempt, its commands stop with it
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        _log_lines(log, stdout, stderr)
        if process.returncode != 0:
            command = _current(commands, step_file)
            log("ERROR", f"Command failed with exit code {process.returncode}: {command}")
            return TaskOutcome(succeeded=False, outputs={"exitCode": process.returncode})
    return TaskOutcome(succeeded=True, outputs={"exitCode": 0})


def _asked_to_kill(killed: KillCheck, log: LogSink) -> bool:
    """A kill check that fails (a throttled read) is not a kill, and must not leave the task running
    unwatched: the next check asks again."""
    try:
        return killed()
    except Exception as exc:  # noqa: BLE001 - any failure of the check; the task keeps its timeout
        log("WARN", f"Could not check for a kill request: {exc}")
        return False


def _current(commands: list[str], step_file: str) -> str:
    """The command that was running when the script stopped."""
    try:
        with open(step_file) as recorded:
            return commands[int(recorded.read().strip())]
    except (OSError, ValueError, IndexError):
        return commands[-1]


def _log_lines(log: LogSink, stdout: str, stderr: str) -> None:
    for line in stdout.splitlines():
        log("INFO", line)
    for line in stderr.splitlines():
        log("WARN", line)
