"""Every property a flow may hold, where it may hold it: implemented with Kestra's meaning, or refused with why.

Nothing is accepted and then ignored. A property listed with a reason, and any property not listed at all, is
refused at registration with its path (`tasks[2].retry: not supported ...`), as Kestra refuses a property its
plugin does not declare. The tables are the one place that says what a flow may use here.
"""

from typing import Any

from backfill_core.flows.task_spec import (
    FLOWABLE_LISTS,
    FOR_EACH,
    IF,
    MAX_DEPTH,
    PARALLEL,
    SEQUENTIAL,
    SWITCH,
    TASK_LISTS,
    WORKING_DIRECTORY,
    raw_child_lists,
)
from backfill_core.flows.tasks.aws_types import AWS_TASK_PROPERTIES
from backfill_core.flows.tasks.control import FAIL, SLEEP
from backfill_core.flows.tasks.core import OUTPUT_VALUES, RETURN
from backfill_core.flows.tasks.http_types import HTTP_DOWNLOAD_PROPERTIES, HTTP_TASK_TYPES
from backfill_core.flows.tasks.s3_types import S3_PROPERTIES
from backfill_core.flows.tasks.subflow import SUBFLOW_TYPES
from backfill_core.flows.tasks.task_types import (
    COMMANDS,
    LOG,
    LOG_LEGACY,
    PROCESS_RUNNER,
    PYTHON_COMMANDS,
    PYTHON_SCRIPT,
    SHELL_SCRIPT,
)
from backfill_core.flows.templating import template_problem

Properties = dict[str, str | None]
"""Property name -> None when implemented, else why it is refused."""

LATER = "not supported yet"
NO_CONTAINERS = "not supported: commands run with the Process task runner, in the task runner's own environment"
WORKER_GROUPS = "not supported: every task runs in this deployment's task runner"
NEEDS_STORAGE = "not supported yet: it needs Kestra's internal storage (kestra:// files)"
NO_PACKAGES = "not supported: scripts run in the task runner's own Python 3.11, standard library only"

FLOW: Properties = {
    "id": None,
    "namespace": None,
    "revision": None,  # set by the server on each update, as Kestra sets it; a given value is replaced
    "description": None,
    "labels": None,
    "inputs": None,
    "tasks": None,
    "triggers": None,
    "disabled": None,
    "variables": None,
    "outputs": None,
    "errors": None,
    "finally": None,
    "afterExecution": None,
    "concurrency": None,  # limit and behavior, checked by flows/concurrency.FlowConcurrency
    "pluginDefaults": None,  # merged into the tasks and triggers before they are checked (flows/plugin_defaults)
    "taskDefaults": None,  # Kestra's older name for pluginDefaults
    "retry": LATER,
    "sla": LATER,
    "checks": LATER,
    "listeners": "not supported: Kestra removed flow listeners; use errors or afterExecution",
    "workerGroup": WORKER_GROUPS,
}

TASK: Properties = {
    "id": None,
    "type": None,
    "description": None,
    "timeout": None,
    "disabled": None,
    "retry": None,  # its own properties are checked by flows/retry.RetrySpec
    "allowFailure": None,
    "allowWarning": None,
    "runIf": None,  # false skips the task (SKIPPED), as Kestra skips it
    "logLevel": None,  # its own lines below this level are dropped
    "logToFile": LATER,
    "taskCache": LATER,
    "version": "not supported: this deployment runs one version of each task type",
    "workerGroup": WORKER_GROUPS,
}

SCRIPT: Properties = {
    "env": None,
    "taskRunner": None,
    "runner": None,
    "beforeCommands": None,
    "interpreter": None,
    "warningOnStdErr": None,
    "failFast": None,
    "inputFiles": None,  # inline contents or kestra:// files of the same flow; names stay inside the working dir
    "outputFiles": None,  # kept in the internal storage (flows/tasks/storage_files), outputs.<id>.outputFiles
    "namespaceFiles": NEEDS_STORAGE,
    "outputDirectory": NEEDS_STORAGE,
    "containerImage": NO_CONTAINERS,
    "docker": NO_CONTAINERS,
    "targetOS": NO_CONTAINERS,
}
PYTHON: Properties = {
    name: NO_PACKAGES
    for name in (
        "dependencies",
        "pythonVersion",
        "packageManager",
        "dependencyCacheEnabled",
        "uvAutoInstallEnabled",
        "uvInstallerVersion",
        "uvInstallerSha256",
    )
}

# http.Request (http.Download's table is tasks/http_types.DOWNLOAD); `options` checked by tasks/http_types.OPTIONS.
HTTP_REQUEST: Properties = {
    "uri": None,
    "method": None,
    "body": None,
    "formData": None,  # fields as text; file parts (kestra:// URIs) are refused by tasks/http_types
    "contentType": None,
    "headers": None,
    "options": None,
    "allowFailed": None,  # Kestra's deprecated name of options.allowFailed
    "sslOptions": None,  # Kestra's deprecated name of options.ssl
    "encryptBody": None,  # false only: true is refused by tasks/http_types (no Kestra encryption key here)
}

TASK_TYPES: dict[str, Properties] = {
    COMMANDS: {"commands": None, **SCRIPT},
    SHELL_SCRIPT: {"script": None, **SCRIPT},
    PYTHON_COMMANDS: {"commands": None, **SCRIPT, **PYTHON},
    PYTHON_SCRIPT: {"script": None, **SCRIPT, **PYTHON},
    LOG: {"message": None, "level": None},
    LOG_LEGACY: {"message": None, "level": None},
    RETURN: {"format": None},
    OUTPUT_VALUES: {"values": None},
    SLEEP: {"duration": None},
    FAIL: {"condition": None, "errorMessage": None},
    SEQUENTIAL: {"tasks": None, "errors": None},
    PARALLEL: {"tasks": None, "errors": None, "concurrent": None},
    IF: {"condition": None, "then": None, "else": None, "errors": None},
    SWITCH: {"value": None, "cases": None, "defaults": None, "errors": None},
    FOR_EACH: {"values": None, "tasks": None, "errors": None, "concurrencyLimit": None},
    **({kind: HTTP_REQUEST for kind in HTTP_TASK_TYPES} | HTTP_DOWNLOAD_PROPERTIES),
    **AWS_TASK_PROPERTIES,
    WORKING_DIRECTORY: {  # its tasks share one folder, carried between task runner invocations (flows/flowable)
        "tasks": None,
        "errors": None,
        "inputFiles": "not supported yet: give inputFiles to a script task inside it",
        "outputFiles": "not supported yet: give outputFiles to a script task inside it",
        "namespaceFiles": NEEDS_STORAGE,
        "cache": LATER,
    },
    **S3_PROPERTIES,  # AWS S3 tasks (flows/tasks/s3_types): the task runner's own role, no flow credentials
}
SUBFLOW: Properties = {
    "namespace": None,
    "flowId": None,
    "inputs": None,  # rendered in the parent, then taken as they are; an input the child does not declare is refused
    "labels": None,
    "wait": None,  # true: the child runs inside the parent's executor; false: queued, run by id
    "transmitFailed": None,
    "inheritLabels": None,
    "revision": None,  # only the latest revision is kept: another fails the task, naming both
    "scheduleDate": "not supported: a child execution starts at once here (use a Schedule trigger on the subflow)",
    "outputs": "not supported: Kestra deprecated it in 0.15; declare `outputs` on the subflow instead",
    "restartBehavior": "not supported: executions are not restarted by hand here, so there is no restart to shape",
}
TASK_TYPES |= {task_type: SUBFLOW for task_type in SUBFLOW_TYPES}

TASK_RUNNER: Properties = {"type": None}

SCHEDULE_TYPES = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule")

TRIGGER: Properties = {
    "id": None,
    "type": None,
    "description": None,
    "disabled": None,
    "stopAfter": None,
    "conditions": None,  # DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, Not, Or; others refused
    "logLevel": LATER,
    "minLogLevel": LATER,
    "logToFile": LATER,
    "labels": None,  # on every execution it starts, live or backfilled; the flow's and a backfill's merge over
    "workerGroup": WORKER_GROUPS,
}

SCHEDULE: Properties = {
    "cron": None,
    "timezone": None,
    "withSeconds": None,
    "inputs": None,
    "recoverMissedSchedules": None,
    "lateMaximumDelay": None,
    "backfill": "not supported in the YAML: start a backfill with PUT /api/v1/triggers",
    "scheduleConditions": LATER,
    "interval": "not supported: Kestra deprecated it; use cron",
}

INPUT: Properties = {
    "id": None,
    "type": None,
    "defaults": None,
    "required": None,
    "values": None,
    "description": None,
    "displayName": None,  # shown by the UI only
    "name": "not supported: Kestra renamed it id",
    "dependsOn": LATER,
    "validator": LATER,
    "min": None,  # INT and FLOAT, inclusive
    "max": None,
    "minLength": LATER,
    "maxLength": LATER,
    "itemType": LATER,
    "allowCustomValue": LATER,
    "expression": LATER,
    "prefill": LATER,
    "autoSelectFirst": LATER,
    "isRadio": LATER,
    "multiple": LATER,
    "extension": LATER,
    "allowedFileExtensions": LATER,
}


def _refusals(document: dict[str, Any], known: Properties, path: str, what: str) -> list[str]:
    found = []
    for name in document:
        where = f"{path}.{name}" if path else str(name)
        if name not in known:
            found.append(f"{where}: not a property of {what}")
        elif known[name] is not None:
            found.append(f"{where}: {known[name]}")
    return found


def _items(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def task_places(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every task of the document as (path, task), those inside flowable tasks too (`tasks[0].then[1]`), down to
    one level past the deepest allowed (deeper ones are refused by their depth)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def visit(where: str, items: Any, depth: int) -> None:
        for index, task in _items(items):
            path = f"{where}[{index}]"
            found.append((path, task))
            if depth <= MAX_DEPTH:
                for name, children in raw_child_lists(str(task.get("type")), task):
                    visit(f"{path}.{name}", children, depth + 1)

    for key in TASK_LISTS:
        visit(key, document.get(key), 1)
    return found


def refused_properties(document: dict[str, Any]) -> list[str]:
    """Every property of the flow that is not implemented here, as `path: why`, in document order. Types are
    checked here only as far as they choose a table; their values are the models' to validate."""
    found = _refusals(document, FLOW, "", "a flow")
    for path, task in task_places(document):
        known = TASK_TYPES.get(str(task.get("type")))
        if known is None:
            continue  # an unsupported type is refused by name with the list of supported ones
        found += _refusals(task, TASK | known, path, f"a task of type {task.get('type')}")
        runner = task.get("taskRunner")
        if isinstance(runner, dict) and runner.get("type") == PROCESS_RUNNER:
            found += _refusals(runner, TASK_RUNNER, f"{path}.taskRunner", "the Process task runner")
    for index, trigger in _items(document.get("triggers")):
        known = SCHEDULE if trigger.get("type") in SCHEDULE_TYPES else {}
        if not known:
            found.append(
                f"triggers[{index}].type: trigger type '{trigger.get('type')}' is not supported: only Schedule "
                f"triggers ({', '.join(SCHEDULE_TYPES)}) run here"
            )
            continue
        found += _refusals(trigger, TRIGGER | known, f"triggers[{index}]", "a Schedule trigger")
    for index, spec in _items(document.get("inputs")):
        found += _refusals(spec, INPUT, f"inputs[{index}]", "an input")
    return found


def _templates(value: Any, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _templates(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _templates(item, f"{path}[{index}]")


def refused_templates(document: dict[str, Any]) -> list[str]:
    """Every expression in a task's properties or a flow output that could never render (it does not parse, or
    uses a filter or function that does not exist or that we do not run), as `path: why`: refused at
    registration rather than failing each slot of a backfill."""
    found = []
    places = task_places(document)
    places += [(f"outputs[{index}]", output) for index, output in _items(document.get("outputs"))]
    for path, holder in places:
        if holder.get("disabled") is True:
            continue  # a task disabled is often one being mended: Kestra keeps it without running it
        for name, value in holder.items():
            if name in ("id", "type") or name in FLOWABLE_LISTS.get(str(holder.get("type")), ()):
                continue  # a flowable's tasks are places of their own
            for where, text in _templates(value, f"{path}.{name}"):
                problem = template_problem(text)
                if problem:
                    found.append(f"{where}: cannot render {problem}")
    return found
