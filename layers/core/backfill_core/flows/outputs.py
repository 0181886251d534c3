"""Outputs: what each task run keeps (`outputs.<taskId>.*` for later tasks, `taskRunList[].outputs`), and the
flow's own `outputs`, evaluated once its tasks are done onto the execution's `outputs`, as Kestra does.

All of them live in the execution's record, which must stay under DynamoDB's 400 KB item: a task run's
outputs are bounded, and so is the record they and the task runs' attempts grow (leaving room for a task run
without outputs for every task still to come); a task whose outputs pass a bound fails saying so, without them."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backfill_core.flows.inputs import InputError, stored_size, typed_value
from backfill_core.flows.templating import TemplateRenderError, render_properties
from backfill_core.ids import ID_PATTERN, MAX_ID

MAX_TASK_OUTPUTS_BYTES = 64 * 1024  # one task run's outputs, as stored JSON
# What outputs and attempts may take the execution's record to: the rest of DynamoDB's 400 KB is left to the
# task runs still to come (at most MAX_TASKS, each well under 1 KB without outputs) and the final state.
MAX_RECORD_BYTES = 280 * 1024
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


def outputs_problem(outputs: dict[str, Any], record_bytes: Callable[[], int]) -> str | None:
    """Why a task run may not keep these outputs, given the execution's record as it is, or None."""
    size = stored_size(outputs)
    if size > MAX_TASK_OUTPUTS_BYTES:
        return f"The task's outputs take {size:,} bytes, more than the {MAX_TASK_OUTPUTS_BYTES:,} a task run may keep"
    if size > 64 and (record := record_bytes()) + size > MAX_RECORD_BYTES:
        return (
            f"The task's outputs ({size:,} bytes) would take the execution's record ({record:,} bytes) past the "
            f"{MAX_RECORD_BYTES:,} bytes its outputs and attempts may fill"
        )
    return None


def evaluate_flow_outputs(specs: list[OutputSpec], variables: dict[str, Any], record: int) -> dict[str, Any]:
    """The flow's outputs by id; ValueError naming the output when one cannot be rendered, typed or kept."""
    values: dict[str, Any] = {}
    for spec in specs:
        try:
            rendered = render_properties(spec.value, variables)
            values[spec.id] = typed_value(spec.type, rendered)
        except (TemplateRenderError, InputError) as exc:
            raise ValueError(f"outputs[{spec.id}]: {exc}") from exc
    size = stored_size(values)
    if record + size > MAX_RECORD_BYTES:
        raise ValueError(
            f"the flow's outputs ({size:,} bytes) would take the execution's record ({record:,} bytes) past the "
            f"{MAX_RECORD_BYTES:,} bytes its outputs and attempts may fill"
        )
    return values
