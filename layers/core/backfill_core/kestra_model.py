"""The base of every record kept with Kestra's JSON names (camelCase), its dates written as Kestra writes them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer
from pydantic.alias_generators import to_camel

from backfill_core.schedules.kestra_time import format_date


class KestraModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    @field_serializer("*", when_used="json")
    def _dates(self, value: Any) -> Any:
        return format_date(value) if isinstance(value, datetime) else value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
