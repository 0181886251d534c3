"""Kestra flows: parsed from YAML, validated at registration so that nothing fails later for a typo."""

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backfill_core.errors import Invalid
from backfill_core.flows import inputs as flow_inputs
from backfill_core.flows.concurrency import FlowConcurrency
from backfill_core.flows.execution import ENDED_STATES
from backfill_core.flows.labels import Label, merge_labels, normalize_labels
from backfill_core.flows.outputs import OutputSpec
from backfill_core.flows.plugin_defaults import with_plugin_defaults
from backfill_core.flows.properties import SCHEDULE_TYPES, TASK_LISTS, refused_properties, refused_templates
from backfill_core.flows.task_spec import TaskSpec, walk
from backfill_core.flows.task_tree import MAX_TASKS, check_task_tree
from backfill_core.flows.tasks.subflow import recursive_call
from backfill_core.flows.yaml_text import YamlProblem, load_yaml
from backfill_core.ids import FLOW_ID_PATTERN, ID_PATTERN, MAX_FLOW_ID, MAX_ID, MAX_NAMESPACE, NAMESPACE_PATTERN
from backfill_core.schedules.conditions import ConditionError
from backfill_core.schedules.counting import keeps_no_slot
from backfill_core.schedules.cron import CronError, CronSchedule
from backfill_core.schedules.kestra_time import parse_iso_duration

# A YAML alias repeats its anchor's value without copying it, so 1 kB of nested aliases can stand for billions
# of values ("billion laughs") that storing or answering the flow would expand.
MAX_YAML_VALUES = 100_000
MAX_INTEGER_DIGITS = 4300  # Python's int-string limit: a longer integer cannot be read or written as text
MAX_INTEGER_BITS = 14_000  # just under 4,300 decimal digits


def in_namespace(candidate: str, namespace: str | None) -> bool:
    """Kestra's namespace filter: the namespace itself and those below it (a.b matches a.b and a.b.c)."""
    return not namespace or candidate == namespace or candidate.startswith(namespace + ".")


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str = Field(pattern=ID_PATTERN, max_length=MAX_ID)
    type: str
    cron: str | None = None
    timezone: str = "UTC"
    with_seconds: bool = Field(default=False, alias="withSeconds")
    inputs: dict[str, Any] | None = None
    disabled: bool = False
    recover_missed_schedules: Literal["ALL", "LAST", "NONE"] = Field(default="ALL", alias="recoverMissedSchedules")
    stop_after: list[str] | None = Field(default=None, alias="stopAfter")
    late_maximum_delay: str | None = Field(default=None, alias="lateMaximumDelay")
    conditions: list[dict[str, Any]] | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None  # on every execution it starts, as Kestra's

    @property
    def is_schedule(self) -> bool:
        return self.type in SCHEDULE_TYPES

    def schedule(self) -> CronSchedule:
        return CronSchedule(self.cron or "", self.timezone, self.with_seconds, self.conditions)

    def late_limit(self) -> timedelta | None:
        return parse_iso_duration(self.late_maximum_delay) if self.late_maximum_delay else None

    def to_kestra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=ID_PATTERN, max_length=MAX_ID)
    type: str = "STRING"
    defaults: Any = None
    required: bool = True
    values: list[str] | None = None
    min: float | None = None  # INT and FLOAT: the least value allowed, inclusive (Kestra's IntInput, FloatInput)
    max: float | None = None  # ... the greatest

    @field_validator("type")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class Flow(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=FLOW_ID_PATTERN, max_length=MAX_FLOW_ID)
    namespace: str = Field(pattern=NAMESPACE_PATTERN, max_length=MAX_NAMESPACE)
    tasks: list[TaskSpec] = Field(min_length=1, max_length=MAX_TASKS)
    triggers: list[TriggerSpec] = []
    inputs: list[InputSpec] = []
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    description: str | None = None
    disabled: bool = False
    errors: list[TaskSpec] = []  # run when a task fails; the execution still ends FAILED
    finally_: list[TaskSpec] = Field(default=[], alias="finally")  # run after tasks and errors, always
    # run once the execution has ended, seeing its final `execution.state`; they never change it
    after_execution: list[TaskSpec] = Field(default=[], alias="afterExecution")
    outputs: list[OutputSpec] = []
    flow_variables: dict[str, Any] = Field(default={}, alias="variables")  # `vars.*`, as written
    concurrency: FlowConcurrency | None = None  # enforced by slots/concurrency across all its executions

    @field_validator("tasks")
    @classmethod
    def _unique_task_ids(cls, tasks: list[TaskSpec]) -> list[TaskSpec]:
        seen: set[str] = set()
        for task in tasks:
            if task.id in seen:
                raise ValueError(f"task id '{task.id}' is used twice")
            seen.add(task.id)
        return tasks

    def task_lists(self) -> dict[str, list[TaskSpec]]:
        return {
            "tasks": self.tasks,
            "errors": self.errors,
            "finally": self.finally_,
            "afterExecution": self.after_execution,
        }

    def all_tasks(self) -> list[TaskSpec]:
        """Every task of the flow, those inside flowable tasks included."""
        return [task for _, task, _ in walk(self.task_lists())]

    def execution_labels(self, trigger_id: str | None) -> list[Label]:
        """The labels every execution the trigger starts carries: the flow's, and the trigger's over them."""
        trigger = self.trigger(trigger_id) if trigger_id else None
        return merge_labels(normalize_labels(self.labels), normalize_labels(trigger.labels if trigger else None))

    def trigger(self, trigger_id: str) -> TriggerSpec | None:
        return next((t for t in self.triggers if t.id == trigger_id), None)

    def trigger_disabled(self, trigger: TriggerSpec, by_api: bool) -> bool:
        """Disabled through the API (or stopAfter), or in this YAML: on the trigger or the whole flow."""
        return by_api or trigger.disabled or self.disabled

    def variables(self, revision: int | None = None) -> dict[str, Any]:
        """What a template may use before any execution exists (input defaults, for instance)."""
        return {"flow": {"id": self.id, "namespace": self.namespace, "revision": revision}}


def parse_flow(source: str) -> Flow:
    """Parse and validate a flow's YAML; every problem is an Invalid (422) naming the field."""
    try:
        document = load_yaml(source)
    except YamlProblem as exc:
        raise Invalid(f"Flow YAML does not parse: {exc}") from exc
    except RecursionError as exc:
        raise Invalid("Flow YAML is nested too deeply to read") from exc
    except ValueError as exc:  # a value YAML's types refuse: an integer past Python's limit, a 13th month
        if "digits" in str(exc):
            raise Invalid(f"Flow YAML holds a number too long to read{_where_digits_run(source)}") from exc
        raise Invalid(f"Flow YAML holds a value that cannot be read: {exc}") from exc
    if not isinstance(document, dict):
        raise Invalid("Flow YAML must be a mapping with id, namespace and tasks")
    if _expanded_size(document) > MAX_YAML_VALUES:
        raise Invalid(f"Flow YAML expands to more than {MAX_YAML_VALUES:,} values through its aliases (*name)")
    if _holds_huge_integer(document):
        raise Invalid(f"Flow YAML holds a number of more than {MAX_INTEGER_DIGITS:,} digits (a base-60 1:2:3...)")
    document = with_plugin_defaults(document)
    refused = refused_properties(document) + refused_templates(document)
    if refused:
        raise Invalid("; ".join(refused))
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        raise Invalid(describe_validation_error(exc, document)) from exc
    check_task_tree(flow.task_lists())
    recursion = recursive_call(flow.namespace, flow.id, flow.task_lists())
    if recursion:
        raise Invalid(recursion)
    flow_inputs.check_declarations(flow.inputs)
    try:
        normalize_labels(flow.labels)  # every execution of the flow carries them
    except ValueError as exc:
        raise Invalid(f"labels: {exc}") from exc
    seen: set[str] = set()
    for trigger in flow.triggers:
        if trigger.id in seen:
            raise Invalid(f"triggers[{trigger.id}].id: trigger id '{trigger.id}' is used twice")
        seen.add(trigger.id)
        try:
            flow.execution_labels(trigger.id)
        except ValueError as exc:
            raise Invalid(f"triggers[{trigger.id}].labels: {exc}") from exc
        if trigger.is_schedule:
            if not trigger.cron:
                raise Invalid(f"triggers[{trigger.id}].cron: a Schedule trigger needs a cron")
            try:
                schedule = trigger.schedule()
            except ConditionError as exc:
                raise Invalid(f"triggers[{trigger.id}].{exc}") from exc
            except CronError as exc:
                field = "timezone" if str(exc).startswith("timezone") else "cron"
                raise Invalid(f"triggers[{trigger.id}].{field}: {exc}") from exc
            if keeps_no_slot(schedule):
                raise Invalid(
                    f"triggers[{trigger.id}].conditions: no slot of cron '{trigger.cron}' meets them: "
                    "the trigger would never fire"
                )
            flow_inputs.check_undeclared(flow.inputs, trigger.inputs, f"triggers[{trigger.id}].inputs")
            try:
                trigger.late_limit()
            except ValueError as exc:
                raise Invalid(f"triggers[{trigger.id}].lateMaximumDelay: {exc}") from exc
            for state in trigger.stop_after or []:
                if state not in ENDED_STATES:
                    raise Invalid(
                        f"triggers[{trigger.id}].stopAfter: '{state}' is not one of {', '.join(ENDED_STATES)}"
                    )
    return flow


def _where_digits_run(source: str) -> str:
    found = re.search(rf"\d{{{MAX_INTEGER_DIGITS},}}", source)
    return f" (line {source.count(chr(10), 0, found.start()) + 1})" if found else ""


def _holds_huge_integer(node: Any) -> bool:
    """An integer no answer could write as text: YAML's base-60 integers (1:2:3...) grow without a digits run.
    Called once the alias expansion is known to be bounded."""
    if isinstance(node, int):
        return node.bit_length() > MAX_INTEGER_BITS
    if isinstance(node, dict):
        return any(_holds_huge_integer(child) for child in (*node.keys(), *node.values()))
    if isinstance(node, list):
        return any(_holds_huge_integer(child) for child in node)
    return False


def _expanded_size(document: Any) -> int:
    """How many values the document holds with its aliases expanded, counted without expanding them: each
    shared value is counted once and reused. An alias to a value that contains it counts as too many."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        if id(node) not in sizes:
            sizes[id(node)] = MAX_YAML_VALUES + 1  # until counted: a cycle meets this
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            sizes[id(node)] = 1 + sum(size(child) for child in children)
        return sizes[id(node)]

    return size(document)


def describe_validation_error(exc: ValidationError, document: Any = None) -> str:
    """One line per problem, each starting with the dotted path of the field; a task below its id is named
    by its id, as `tasks[extract].retry.maxAttempts`."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        if len(loc) > 2 and loc[0] in TASK_LISTS and isinstance(loc[1], int) and loc[2] != "id":
            task_id = _task_id(document, str(loc[0]), loc[1])
            if task_id:
                loc = [f"{loc[0]}[{task_id}]", *loc[2:]]
        path = ".".join(str(part) for part in loc) or "body"
        lines.append(f"{path}: {_plain(error)}")
    return "; ".join(lines)


def _plain(error: Any) -> str:
    bounds = error.get("ctx") or {}
    if error["type"] == "greater_than_equal":
        return f"must be at least {bounds['ge']}"
    if error["type"] == "less_than_equal":
        return f"must be at most {bounds['le']}"
    if error["type"] == "extra_forbidden":
        return "not a known property here"
    return str(error["msg"]).removeprefix("Value error, ")


def _task_id(document: Any, where: str, index: int) -> str | None:
    tasks = document.get(where) if isinstance(document, dict) else None
    task = tasks[index] if isinstance(tasks, list) and index < len(tasks) else None
    task_id = task.get("id") if isinstance(task, dict) else None
    return task_id if isinstance(task_id, str) and re.fullmatch(ID_PATTERN, task_id) else None
