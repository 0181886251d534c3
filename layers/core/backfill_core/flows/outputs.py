"""Outputs: what each task run keeps (`outputs.<taskId>.*` for later tasks, `taskRunList[].outputs`), and the
flow's own `outputs`, evaluated once its tasks are done onto the execution's `outputs`, as Kestra does.

All of them live in the execution's record, which must stay under DynamoDB's 400 KB item: a task run's
outputs and all of an execution's together are bounded, and a task whose outputs pass a bound fails saying so."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backfill_core.flows.inputs import InputError, stored_size, typed_value
from backfill_core.flows.templating import TemplateRenderError, render_properties
from backfill_core.ids import ID_PATTERN, MAX_ID

MAX_TASK_OUTPUTS_BYTES = 64 * 1024  # one task run's outputs, as stored JSON
MAX_EXECUTION_OUTPUTS_BYTES = 160 * 1024  # every task run's and the flow's outputs of one execution together
# Past this, the record has no room for one more attempt of a task: retries stop and the task fails.
MAX_RECORD_BYTES = 320 * 1024
OUTPUT_TYPES = ("STRING", "INT", "FLOAT", "BOOLEAN", "DATETIME", "DATE", "JSON")


class OutputSpec(BaseModel):
    """One of the flow's `outputs`: {id, type, value}, the value rendered at the end and given its type."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(pattern=ID_PATTERN, max_length=MAX_ID)
    type: str
    value: Any = Field()
    description: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value.upper() not in OUTPUT_TYPES:
            raise ValueError(f"'{value}' is not supported; supported output types are {', '.join(OUTPUT_TYPES)}")
        return value.upper()


def outputs_problem(outputs: dict[str, Any], kept_bytes: int) -> str | None:
    """Why a task run may not keep these outputs, given what the execution keeps already, or None."""
    size = stored_size(outputs)
    if size > MAX_TASK_OUTPUTS_BYTES:
        return f"The task's outputs take {size:,} bytes, more than the {MAX_TASK_OUTPUTS_BYTES:,} a task run may keep"
    if kept_bytes + size > MAX_EXECUTION_OUTPUTS_BYTES:
        return (
            f"The task's outputs ({size:,} bytes) would take the execution's outputs past the "
            f"{MAX_EXECUTION_OUTPUTS_BYTES:,} bytes an execution may keep"
        )
    return None


def kept_bytes(task_outputs: list[dict[str, Any]]) -> int:
    return sum(stored_size(outputs) for outputs in task_outputs if outputs)


def evaluate_flow_outputs(specs: list[OutputSpec], variables: dict[str, Any], kept: int) -> dict[str, Any]:
    """The flow's outputs by id; ValueError naming the output when one cannot be rendered, typed or kept."""
    values: dict[str, Any] = {}
    for spec in specs:
        try:
            rendered = render_properties(spec.value, variables)
            values[spec.id] = typed_value(spec.type, rendered)
        except (TemplateRenderError, InputError) as exc:
            raise ValueError(f"outputs[{spec.id}]: {exc}") from exc
    size = stored_size(values)
    if kept + size > MAX_EXECUTION_OUTPUTS_BYTES:
        raise ValueError(
            f"the flow's outputs take {size:,} bytes, past the {MAX_EXECUTION_OUTPUTS_BYTES:,} bytes an execution "
            "may keep with its tasks' outputs"
        )
    return values
