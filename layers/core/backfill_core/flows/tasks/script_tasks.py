"""The task runner's side of a script task (shell or Python, Commands or Script): its `beforeCommands` then its
commands (or its script) as one script, its `inputFiles` written in the working directory first, and for
Python the runner's own interpreter as `python` with Kestra's `kestra` module on its path."""

import os
import shutil
import stat
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backfill_core.flows.tasks.internal_storage import SCHEME, TaskStorage
from backfill_core.flows.tasks.script_types import (
    PYTHON_SCRIPT,
    PYTHON_TASK_TYPES,
    SHELL_SCRIPT,
    flag,
    input_file_problem,
)
from backfill_core.flows.tasks.shell import KillCheck, LogSink, ShellOutcome, run_script
from backfill_core.flows.tasks.storage_files import (
    read_file_into,
    restore_working_directory,
    save_working_directory,
    upload_output_files,
)

KESTRA_MODULE = Path(__file__).with_name("python_lib") / "kestra.py"
# As Kestra's Script does: Pebble renders booleans and null as JSON writes them, so they mean what they say.
PYTHON_PRELUDE = "true = True\nfalse = False\nnull = None\n"


def script_commands(task_type: str, props: dict[str, Any], script_name: str) -> list[str]:
    """What the shell runs: `beforeCommands`, then the commands, the shell script, or `python` on the script."""
    before = [str(command) for command in props.get("beforeCommands") or []]
    if task_type == SHELL_SCRIPT:
        return [*before, str(props["script"])]
    if task_type == PYTHON_SCRIPT:
        return [*before, f"python {script_name}"]
    return [*before, *(str(command) for command in props["commands"])]


def write_input_files(workdir: str, files: dict[str, Any], storage: TaskStorage | None = None) -> list[str]:
    """Each file (and the folders it needs) written inside the working directory, never through a link and
    never twice; the paths written. A name that would leave the directory is refused. A `kestra://` content is
    that internal-storage file, as Kestra fetches it (one of the flow's own files only)."""
    written: list[str] = []
    seen: set[str] = set()
    for name, content in files.items():
        problem = input_file_problem(str(name))
        if problem:
            raise ValueError(problem)
        relative = os.path.normpath(str(name))
        if relative in seen:
            raise ValueError(f"inputFiles.{name}: names the same file as another entry")
        seen.add(relative)
        folder = workdir
        try:
            for part in Path(relative).parts[:-1]:
                folder = os.path.join(folder, part)
                if not os.path.lexists(folder):
                    os.mkdir(folder, 0o755)
                    written.append(folder)
                elif not stat.S_ISDIR(os.lstat(folder).st_mode):
                    raise ValueError(f"inputFiles.{name}: {part} is a file, not a folder")
            path = os.path.join(workdir, relative)
            if os.path.lexists(path) and stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)  # a file of the shared working directory, given anew
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise ValueError(f"inputFiles.{name}: cannot be written: {exc.strerror}") from exc
        with os.fdopen(descriptor, "wb") as file:
            if str(content).startswith(SCHEME):
                if storage is None:
                    raise ValueError(f"inputFiles.{name}: no internal storage was given to this task")
                try:
                    read_file_into(storage, str(content), file)
                except ValueError as exc:
                    raise ValueError(f"inputFiles.{name}: {exc}") from exc
            else:
                file.write(str(content).encode("utf-8", errors="surrogateescape"))
        written.append(path)
    return written


def _open_to_all(path: str) -> bool:
    """Whether any user may run the file: the task's commands may run as another user than the runner."""
    try:
        folders = Path(path).parents
        return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in folders) and bool(
            os.stat(path).st_mode & stat.S_IXOTH
        )
    except OSError:
        return False


def runner_python() -> str:
    """The runner's own Python 3.11 (on Lambda, the runtime's); where its commands' user may not reach it (a
    local stack run as root from a home folder), the same version from PATH."""
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    folders = os.environ.get("PATH", "").split(os.pathsep) + ["/usr/local/bin", "/usr/bin", "/bin"]
    candidates = [sys.executable] + [os.path.join(folder, name) for folder in folders if folder]
    found = (os.path.realpath(path) for path in candidates if os.path.exists(path))
    return next((path for path in found if _open_to_all(path)), os.path.realpath(sys.executable))


def _python_tools(scratch: str, env: dict[str, str]) -> None:
    """`python` and `python3` are the runner's own interpreter (its standard library, none of its packages);
    `from kestra import Kestra` finds Kestra's helper; output is unbuffered, as Kestra sets it."""
    tools, library = os.path.join(scratch, "bin"), os.path.join(scratch, "lib")
    os.mkdir(tools, 0o755)
    os.mkdir(library, 0o755)
    for name in ("python", "python3"):
        os.symlink(runner_python(), os.path.join(tools, name))
    shutil.copyfile(KESTRA_MODULE, os.path.join(library, "kestra.py"))
    env["PATH"] = os.pathsep.join([tools, env["PATH"]])
    env["PYTHONPATH"] = os.pathsep.join(path for path in (env.get("PYTHONPATH"), library) if path)
    env.setdefault("PYTHONUNBUFFERED", "1")


def run_script_task(
    task_type: str,
    props: dict[str, Any],
    log: LogSink,
    timeout: float,
    killed: KillCheck,
    storage: TaskStorage | None = None,
    output_files: dict[str, str] | None = None,
) -> tuple[ShellOutcome, bool]:
    """Run the task; its outcome, and whether it ends WARNING (it succeeded but wrote to stderr, and
    `warningOnStdErr` is on, as by default in Kestra). Its `outputFiles` go to the internal storage, their
    URIs into `output_files`."""
    try:
        fail_fast, warn_on_stderr = flag(props, "failFast", True), flag(props, "warningOnStdErr", True)
    except ValueError as exc:
        log("ERROR", str(exc), datetime.now(UTC))
        return ShellOutcome(exit_code=-1), False
    script_name = f"script_{uuid.uuid4().hex[:12]}.py"

    def prepare(scratch: str, workdir: str, env: dict[str, str]) -> list[str]:
        written = restore_working_directory(storage, workdir) if storage else []
        written += write_input_files(workdir, props.get("inputFiles") or {}, storage)
        if task_type in PYTHON_TASK_TYPES:
            _python_tools(scratch, env)
        if task_type == PYTHON_SCRIPT:
            written += write_input_files(workdir, {script_name: PYTHON_PRELUDE + str(props["script"])})
        return written

    def collect(workdir: str) -> None:
        if props.get("outputFiles") and (storage is None or output_files is None):
            raise ValueError("outputFiles: no internal storage was given to this task")
        if storage is not None and output_files is not None and props.get("outputFiles"):
            output_files.update(upload_output_files(storage, workdir, [str(p) for p in props["outputFiles"]]))
        if storage is not None:
            save_working_directory(storage, workdir)

    outcome = run_script(
        script_commands(task_type, props, script_name),
        props.get("env"),
        fail_fast,
        log,
        timeout,
        killed,
        interpreter=props.get("interpreter"),
        prepare=prepare,
        collect=collect if props.get("outputFiles") or (storage and storage.working_directory) else None,
    )
    return outcome, outcome.succeeded and outcome.wrote_stderr and warn_on_stderr
