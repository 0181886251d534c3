"""Kestra's flow answers: a flow as Kestra writes it (FlowWithSource), and its verdict on a flow validated."""

from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from backfill_core.kestra_api.responses import KestraAnswer, KestraDate, NonNullAnswer


class FlowWithSource(KestraAnswer):
    """Kestra's FlowWithSource: the flow's YAML document as written (its keys in its order, free-form), then its
    revision and source. Kestra's FlowWithException when the stored flow no longer validates: the document as
    stored, and why in `exception`. Its keys come out in the order it was given them (the document's first)."""

    model_config = ConfigDict(extra="allow")
    id: str
    namespace: str
    revision: int
    tenant_id: str
    deleted: bool
    updated: KestraDate = Field(description="ours: when this revision was stored")
    source: str
    # A string; typed loosely, as a valid flow's YAML may hold a key of that name with any value.
    exception: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        default=None, description="only for a stored flow that no longer validates: why"
    )
    _keys: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_keys(cls, data: Any, handler: Any) -> "FlowWithSource":
        flow = handler(data)
        if isinstance(data, dict):
            flow._keys = tuple(data)
        return flow

    # No return type: with one, pydantic would describe the answer by it rather than by the fields above.
    @model_serializer(mode="wrap")
    def _in_given_order(self, handler: SerializerFunctionWrapHandler):
        """The keys it was given in their order, then any other but an `exception` it was not given."""
        fields = handler(self)
        ordered = {key: fields.pop(key) for key in self._keys if key in fields}
        ordered.update((key, value) for key, value in fields.items() if key != "exception")
        return ordered


class ValidateConstraintViolation(NonNullAnswer):
    """Kestra's verdict on one flow of a validation: `constraints` says what is refused, null when it is valid."""

    index: int
    flow: str | None = None
    namespace: str | None = None
    constraints: str | None = None
    outdated: bool = False
    deprecation_paths: list[str] = []
    warnings: list[str] = []
    infos: list[str] = []
