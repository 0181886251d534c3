"""Kestra's script tasks as the Process task runner runs them: shell and Python, each as `Commands` (a list of
shell commands) or `Script` (one inline script), and the properties they share. Only names and checks live
here, so the engine and the task runner agree on them without importing each other."""

from pathlib import PurePosixPath
from typing import Any

COMMANDS = "io.kestra.plugin.scripts.shell.Commands"
SHELL_SCRIPT = "io.kestra.plugin.scripts.shell.Script"
PYTHON_COMMANDS = "io.kestra.plugin.scripts.python.Commands"
PYTHON_SCRIPT = "io.kestra.plugin.scripts.python.Script"
SCRIPT_TASK_TYPES = (COMMANDS, SHELL_SCRIPT, PYTHON_COMMANDS, PYTHON_SCRIPT)
PYTHON_TASK_TYPES = (PYTHON_COMMANDS, PYTHON_SCRIPT)
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
DEFAULT_INTERPRETER = ["/bin/sh", "-c"]


def _string_list(value: Any, *, empty: bool) -> bool:
    return isinstance(value, list) and (empty or bool(value)) and all(isinstance(item, str) for item in value)


def _flag_problem(props: dict[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None or isinstance(value, bool) or (isinstance(value, str) and "{{" in value):
        return None
    return f"{name}: true or false (or an expression giving one) is required"


def flag(props: dict[str, Any], name: str, default: bool) -> bool:
    """A rendered boolean property: Kestra's Property<Boolean>, true/false or an expression rendered to one."""
    value = props.get(name, default)
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "false"):
        return str(value).strip().lower() == "true"
    raise ValueError(f"{name}: '{value}' is neither true nor false")


def input_file_problem(name: str) -> str | None:
    """Why a file name of `inputFiles` cannot be written in the task's working directory, or None: a relative
    path that stays inside it (`data/day.csv`), never `../x`, an absolute path, `.` or a NUL byte."""
    if not name or "\0" in name:
        return f"inputFiles.{name}: a file name must be non-empty without NUL bytes"
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        return f"inputFiles.{name}: a file name must be a relative path inside the working directory"
    return None


def validate_script_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a script task's properties as `field: problem`, or None."""
    if task_type in (SHELL_SCRIPT, PYTHON_SCRIPT):
        if not isinstance(props.get("script"), str) or not props["script"].strip():
            return "script: a non-empty script is required"
    elif not _string_list(props.get("commands"), empty=False):
        return "commands: a non-empty list of shell commands is required"
    runner = props.get("taskRunner")
    if runner is not None and (not isinstance(runner, dict) or runner.get("type") != PROCESS_RUNNER):
        return f"taskRunner.type: only '{PROCESS_RUNNER}' is supported"
    if props.get("runner") not in (None, "PROCESS"):
        return "runner: only PROCESS is supported"
    if "env" in props and not isinstance(props["env"], dict):
        return "env: a map of variable names to values is required"
    if "beforeCommands" in props and not _string_list(props["beforeCommands"], empty=True):
        return "beforeCommands: a list of shell commands is required"
    if "interpreter" in props and not _string_list(props["interpreter"], empty=False):
        return "interpreter: a non-empty list of strings is required (by default /bin/sh, -c)"
    files = props.get("inputFiles")
    if files is not None:
        if not isinstance(files, dict) or not all(isinstance(content, str) for content in files.values()):
            return "inputFiles: a map of file names to their contents (or kestra:// URIs) is required"
        for name in files:
            problem = input_file_problem(str(name))
            if problem:
                return problem
    outputs = props.get("outputFiles")
    if outputs is not None and not _string_list(outputs, empty=True):
        return "outputFiles: a list of glob patterns is required"
    if any(str(pattern).startswith(("regex:", "glob:")) for pattern in outputs or []):
        return "outputFiles: only plain glob patterns are supported (no regex: or glob: prefix)"
    return _flag_problem(props, "warningOnStdErr") or _flag_problem(props, "failFast")
