"""A task as a flow declares it, and the tree Kestra's flowable tasks make of a flow: a flowable (Sequential,
Parallel, If, Switch, ForEach) holds lists of tasks (`tasks`, `then`, `else`, `cases.<key>`, `defaults`,
`errors`), which may hold flowables in turn."""

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from backfill_core.flows.retry import RetrySpec
from backfill_core.flows.tasks.core import LogLevel
from backfill_core.ids import ID_PATTERN, MAX_ID
from backfill_core.schedules.kestra_time import parse_iso_duration

SEQUENTIAL = "io.kestra.plugin.core.flow.Sequential"
PARALLEL = "io.kestra.plugin.core.flow.Parallel"
IF = "io.kestra.plugin.core.flow.If"
SWITCH = "io.kestra.plugin.core.flow.Switch"
FOR_EACH = "io.kestra.plugin.core.flow.ForEach"
WORKING_DIRECTORY = "io.kestra.plugin.core.flow.WorkingDirectory"
# Each flowable type and the properties that hold its task lists (Switch's `cases` is a map of them).
FLOWABLE_LISTS: dict[str, tuple[str, ...]] = {
    SEQUENTIAL: ("tasks", "errors"),
    PARALLEL: ("tasks", "errors"),
    IF: ("then", "else", "errors"),
    SWITCH: ("cases", "defaults", "errors"),
    FOR_EACH: ("tasks", "errors"),
    WORKING_DIRECTORY: ("tasks", "errors"),
}
FLOWABLE_TYPES = tuple(FLOWABLE_LISTS)
TASK_LISTS = ("tasks", "errors", "finally", "afterExecution")
"""The flow's own lists of tasks, in the order an execution runs them."""
MAX_DEPTH = 10  # flowables inside flowables: each level is a recursion of the runner and of every check


class TaskSpec(BaseModel):
    """A task: its type's own properties stay extra (`properties()`); those Kestra gives every task are typed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str = Field(pattern=ID_PATTERN, max_length=MAX_ID)
    type: str
    retry: RetrySpec | None = None
    timeout: str | None = None  # an ISO-8601 duration, or an expression rendered when the task runs
    disabled: bool = False
    allow_failure: bool = Field(default=False, alias="allowFailure")
    allow_warning: bool = Field(default=False, alias="allowWarning")
    run_if: str | None = Field(default=None, alias="runIf")  # rendered when the task is due; false skips it
    log_level: LogLevel | None = Field(default=None, alias="logLevel")  # the least level of its lines kept
    _children: list[tuple[str, list["TaskSpec"]]] | None = PrivateAttr(default=None)

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and "{{" not in value:
            parse_iso_duration(value)
        return value

    @property
    def is_flowable(self) -> bool:
        return self.type in FLOWABLE_LISTS

    def properties(self) -> dict[str, Any]:
        """The type's own properties, as written (a flowable's task lists included, as raw mappings)."""
        return dict(self.model_extra or {})

    def child_lists(self) -> list[tuple[str, list["TaskSpec"]]]:
        """A flowable's task lists by the path below the task (`then`, `cases.A`), parsed once; [] for others.
        Raises pydantic's ValidationError on a child that is no task (registration names it)."""
        if self._children is None:
            self._children = [
                (where, [TaskSpec.model_validate(item) for item in items])
                for where, items in raw_child_lists(self.type, self.properties())
            ]
        return self._children

    def children(self, name: str) -> list["TaskSpec"]:
        return next((tasks for where, tasks in self.child_lists() if where == name), [])


def raw_child_lists(task_type: str, props: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """A flowable's task lists as written, each with its path below the task; lists that are not lists are
    left to the flowable's own checks."""
    found: list[tuple[str, list[Any]]] = []
    for name in FLOWABLE_LISTS.get(task_type, ()):
        value = props.get(name)
        if name == "cases" and isinstance(value, dict):
            found += [(f"cases.{key}", items) for key, items in value.items() if isinstance(items, list)]
        elif isinstance(value, list):
            found.append((name, value))
    return found


def walk(lists: dict[str, list[TaskSpec]], depth: int = 1) -> Iterator[tuple[str, TaskSpec, int]]:
    """Every task of the tree, nested ones included, with its path (`tasks[each].then[load]`) and its depth
    (1 for the flow's own lists), parents before their children."""
    for where, tasks in lists.items():
        for task in tasks:
            path = f"{where}[{task.id}]"
            yield path, task, depth
            if task.is_flowable:
                nested = {f"{path}.{name}": children for name, children in task.child_lists()}
                yield from walk(nested, depth + 1)
