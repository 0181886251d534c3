"""An UpdateItem built clause by clause: the progress item's writes are many small variations of one shape."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from backfill_core.backfills.model import BackfillStatus
from backfill_core.backfills.progress import LaneSlot
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.settings import settings


def wire(value: Any) -> dict:
    """A value in DynamoDB's form."""
    if isinstance(value, StrEnum):
        return {"S": value.value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [wire(element) for element in value]}
    if isinstance(value, dict):
        return {"M": {str(k): wire(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB form for {value!r}")


@dataclass
class Update:
    """One UpdateItem, built clause by clause, with its condition."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str, value: Any) -> str:
        self.values[f":{name}"] = wire(value)
        return f":{name}"

    def lane(self, lane: int, tag: str = "lane") -> tuple[str, str]:
        """The lane's slot path and round path."""
        self.names[f"#{tag}"] = str(lane)
        return f"slots.#{tag}", f"rounds.#{tag}"

    def holds(self, slot: LaneSlot, tag: str = "lane") -> tuple[str, str]:
        """Condition: the lane still holds this slot, in this round."""
        slot_path, round_path = self.lane(slot.lane, tag)
        self.conditions.append(f"{slot_path} = {self.value(f'{tag}code', slot.code)}")
        if slot.round:
            self.conditions.append(f"{round_path} = {self.value(f'{tag}round', slot.round)}")
        else:
            self.conditions.append(f"attribute_not_exists({round_path})")
        return slot_path, round_path

    def running(self, running: bool = True) -> None:
        operator = "=" if running else "<>"
        self.conditions.append(f"backfillStatus {operator} {self.value('running', BackfillStatus.RUNNING.value)}")

    def not_held(self) -> None:
        false = self.value("false", False)
        self.conditions.append(
            f"paused = {false} AND triggerDisabled = {false}"
            f" AND (attribute_not_exists(windowClosed) OR windowClosed = {false})"
            " AND attribute_not_exists(yieldingSince)"
        )

    def held(self) -> None:
        true = self.value("true", True)
        self.conditions.append(
            f"(paused = {true} OR triggerDisabled = {true} OR windowClosed = {true} OR attribute_exists(yieldingSince))"
        )

    def request(self, key: dict, now: datetime) -> dict:
        self.sets.append(f"updated = {self.value('now', storage_key(now))}")
        expression = " ".join(
            f"{verb} {', '.join(clauses)}"
            for verb, clauses in (("SET", self.sets), ("REMOVE", self.removes), ("ADD", self.adds))
            if clauses
        )
        request = {
            "TableName": settings().triggers_table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(self.conditions),
            "ExpressionAttributeValues": self.values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        return request
