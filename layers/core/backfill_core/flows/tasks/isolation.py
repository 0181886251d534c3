"""Keeping flow code from reading the process that runs it or outliving its task.

The task runner makes itself the reaper of everything its tasks start (a daemon started with `setsid`
comes back to it when its parent exits, instead of to init) and kills all of it after each task; it makes
itself non-dumpable, so a task's processes (same user) cannot read its /proc/<pid>/environ or memory; and
when it runs as root (a container, CI) the commands run as `nobody`."""

import contextlib
import ctypes
import os
import pwd
import resource
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
UNPRIVILEGED_USER = "nobody"
COMMAND_UID_VARIABLE = "TASK_RUNNER_COMMAND_UID"
MAX_PROCESSES = 512


def _prctl(option: int, value: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(option, value, 0, 0, 0) == 0


def make_non_dumpable() -> bool:
    """Other processes of this user can no longer read this one's environment or memory."""
    return _prctl(PR_SET_DUMPABLE, 0)


def contain_this_process() -> list[str]:
    """Reaper of every process its tasks start, and non-dumpable; returns what could not be applied."""
    missing = []
    if not _prctl(PR_SET_CHILD_SUBREAPER, 1):
        missing.append("child subreaper")
    if not make_non_dumpable():
        missing.append("non-dumpable")
    return missing


def _process_table() -> dict[int, list[int]]:
    """Live (not zombie) processes by parent pid."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state not in ("Z", "X"):
            children.setdefault(int(parent), []).append(int(entry))
    return children


def descendants(root: int) -> list[int]:
    children, found, stack = _process_table(), [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_descendants(rounds: int = 50) -> int:
    """SIGKILL every process below this one, round after round until none is left (a process forking as it
    dies is caught by the next round), and reap them. Only for a process whose children are all its tasks'."""
    killed = 0
    for _ in range(rounds):
        pids = descendants(os.getpid())
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        _reap()
    _reap()
    return killed


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@dataclass(frozen=True)
class CommandUser:
    uid: int
    gid: int


def command_user() -> CommandUser | None:
    """Who commands run as: never root's powers for flow code. When this process is root, the user
    COMMAND_UID_VARIABLE names (one per local execution environment), else `nobody`; otherwise this
    process's own user (Lambda: each environment is a machine of its own)."""
    if os.geteuid() != 0:
        return None
    chosen = os.environ.get(COMMAND_UID_VARIABLE)
    if chosen:
        return CommandUser(int(chosen), int(chosen))
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return CommandUser(entry.pw_uid, entry.pw_gid)


def limit_processes() -> None:
    """In the command's process, before it runs: a fork bomb stops at MAX_PROCESSES of its user's processes.
    Only for a user of the task's own (root's case), whose processes are all the task's."""
    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))


def empty_directory(folder: str) -> None:
    """Remove what a task left in a directory that outlives it (Lambda keeps /tmp between invocations), folders
    it made unreadable or read-only included."""

    def opened_up(function, path, _error) -> None:
        for target in {os.path.dirname(path), path}:
            with contextlib.suppress(OSError):
                os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            function(path)

    for entry in Path(folder).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.chmod(0o700)
            shutil.rmtree(entry, onerror=opened_up)
            if entry.exists():
                shutil.rmtree(entry, onerror=opened_up)  # a folder opened up by the first pass
        else:
            entry.unlink(missing_ok=True)
