"""Registration checks of a flow's whole task tree, flowables' children included: Kestra's rule that a task id
is unique in the whole flow, a supported type for every task, each type's own properties, and the bounds that
keep an execution inside one executor and one DynamoDB item (nesting depth, number of tasks)."""

from typing import Any

from pydantic import ValidationError

from backfill_core.errors import Invalid
from backfill_core.flows.task_spec import (
    FLOWABLE_LISTS,
    FLOWABLE_TYPES,
    FOR_EACH,
    IF,
    MAX_DEPTH,
    PARALLEL,
    SWITCH,
    TaskSpec,
    raw_child_lists,
    walk,
)
from backfill_core.flows.tasks.control import CONTROL_TASK_TYPES, validate_control_task
from backfill_core.flows.tasks.http_types import REFUSED_TASK_TYPES
from backfill_core.flows.tasks.subflow import SUBFLOW_TYPES, validate_subflow_task
from backfill_core.flows.tasks.task_types import SUPPORTED_TASK_TYPES, validate_task

# Each task adds at least one task run to every execution, whose record must stay under DynamoDB's 400 KB item.
MAX_TASKS = 100
ALL_TASK_TYPES = (*SUPPORTED_TASK_TYPES, *CONTROL_TASK_TYPES, *FLOWABLE_TYPES, *SUBFLOW_TYPES)
MAX_FOR_EACH_VALUES = 1000  # ForEach values at run time: each is a task run per child task in the record


def check_task_tree(lists: dict[str, list[TaskSpec]]) -> None:
    """Raise Invalid naming the first task (by its path) that breaks a rule."""
    seen: set[str] = set()
    count = 0
    try:
        for path, task, depth in walk(lists):
            count += 1
            if depth > MAX_DEPTH:
                raise Invalid(f"{path}: flowable tasks are nested more than {MAX_DEPTH} deep")
            if count > MAX_TASKS:
                raise Invalid(
                    f"tasks: at most {MAX_TASKS} tasks are allowed in tasks, errors, finally and "
                    "afterExecution together, the tasks inside flowable tasks included"
                )
            if task.id in seen:
                raise Invalid(f"{path}.id: task id '{task.id}' is used twice")
            seen.add(task.id)
            if task.type in REFUSED_TASK_TYPES:
                raise Invalid(f"{path}.type: task type '{task.type}' is not supported: {REFUSED_TASK_TYPES[task.type]}")
            if task.type not in ALL_TASK_TYPES:
                raise Invalid(
                    f"{path}.type: task type '{task.type}' is not supported; "
                    f"supported types are {', '.join(ALL_TASK_TYPES)}"
                )
            problem = _type_problem(task)
            if problem:
                raise Invalid(f"{path}.{problem}")
    except ValidationError as exc:  # a flowable's child that is no task
        raise Invalid(_describe_child_error(lists, exc)) from exc


def _type_problem(task: TaskSpec) -> str | None:
    props = task.properties()
    if task.type in CONTROL_TASK_TYPES:
        return validate_control_task(task.type, props)
    if task.type in SUBFLOW_TYPES:
        return validate_subflow_task(props)
    if task.type in FLOWABLE_TYPES:
        if task.retry is not None:
            return "retry: not supported yet on a flowable task (retry the tasks inside it)"
        if task.timeout is not None:
            return "timeout: not supported yet on a flowable task (give the tasks inside it a timeout)"
        return validate_flowable(task.type, props)
    return validate_task(task.type, props)


def validate_flowable(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with a flowable's own properties as `field: problem`, or None."""
    for name in FLOWABLE_LISTS[task_type]:
        value = props.get(name)
        if name == "cases":
            if value is not None and not (isinstance(value, dict) and all(isinstance(v, list) for v in value.values())):
                return "cases: a map of values to lists of tasks is required"
        elif value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{name}: a list of tasks is required"
    required = {PARALLEL: "tasks", IF: "then", FOR_EACH: "tasks"}.get(task_type)
    if required and not props.get(required):
        return f"{required}: at least one task is required"
    if task_type == SWITCH:
        if not isinstance(props.get("value"), str) or not props["value"].strip():
            return "value: a value (which may hold expressions) is required"
        if not props.get("cases") and not props.get("defaults"):
            return "cases: no task defined, neither cases nor defaults have any tasks"
    if task_type == IF and not isinstance(props.get("condition"), str):
        return "condition: a condition (an expression) is required"
    if task_type == FOR_EACH:
        values = props.get("values")
        if not isinstance(values, str | list):
            return "values: a list of values, or a JSON string of one, is required"
        if isinstance(values, list) and len(values) > MAX_FOR_EACH_VALUES:
            return f"values: {len(values):,} values, more than the {MAX_FOR_EACH_VALUES:,} a ForEach may run"
        if isinstance(values, list) and not all(isinstance(v, str | int | dict) for v in values):
            return "values: each value must be a string, an integer or a map"
    limit_name = {PARALLEL: "concurrent", FOR_EACH: "concurrencyLimit"}.get(task_type)
    limit = props.get(limit_name) if limit_name else None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        return f"{limit_name}: a whole number, 0 (no limit) or more, is required"
    return None


def _describe_child_error(lists: dict[str, list[TaskSpec]], exc: ValidationError) -> str:
    """Name the flowable whose child failed to parse: found again by parsing each flowable's children."""
    for path, task, _ in _flowables_shallow(lists):
        for where, items in raw_child_lists(task.type, task.properties()):
            for index, item in enumerate(items):
                try:
                    TaskSpec.model_validate(item)
                except ValidationError as error:
                    first = error.errors()[0]
                    field = ".".join(str(part) for part in first["loc"])
                    return f"{path}.{where}[{index}].{field}: {str(first['msg']).removeprefix('Value error, ')}"
    return str(exc)


def _flowables_shallow(lists: dict[str, list[TaskSpec]], depth: int = 1):
    """Flowables of the tree whose children may be parsed, parents first, stopping at the first that fails."""
    for where, tasks in lists.items():
        for task in tasks:
            if task.is_flowable and depth <= MAX_DEPTH:
                path = f"{where}[{task.id}]"
                yield path, task, depth
                try:
                    nested = {f"{path}.{name}": children for name, children in task.child_lists()}
                except ValidationError:
                    return
                yield from _flowables_shallow(nested, depth + 1)
