"""Labels: Kestra's {key, value} pairs on flows and executions, bounded so that an execution's record fits."""

import json
from typing import Any

from pydantic import Field

from backfill_core.kestra_model import KestraModel
from backfill_core.settings import settings


class Label(KestraModel):
    key: str = Field(min_length=1)
    value: str


# Kestra's system label on the executions a backfill starts (its UI and its clients tell backfill runs by it).
BACKFILL_LABEL = "system.backfill"
# Kestra's label tying executions together: an execution's own id, or its parent's for a Subflow's child; the one
# system label a caller may set.
CORRELATION_LABEL = "system.correlationId"
SYSTEM_PREFIX = "system."
LABELS_SHAPE = "labels must be a list of {key, value} objects or a map of key to value"
# Kestra leaves label sizes open; every execution carries its backfill's labels, and its record must stay
# under DynamoDB's 400 KB item, so each label and all of them together are bounded.
MAX_LABEL_KEY = 100
MAX_LABEL_VALUE = 1000
MAX_LABELS_BYTES = 32 * 1024  # all labels, as stored JSON


def normalize_labels(value: Any) -> list[Label]:
    """Kestra takes labels as a list of {key, value}; a {key: value} map is accepted too."""
    if value is None:
        return []
    if isinstance(value, dict):
        items = [{"key": k, "value": v} for k, v in value.items()]
    elif isinstance(value, list) and all(isinstance(i, dict) for i in value):
        items = value
    else:
        raise ValueError(LABELS_SHAPE)
    limit = settings().max_labels
    if len(items) > limit:
        raise ValueError(f"at most {limit} labels are allowed (BACKFILL_MAX_LABELS), got {len(items)}")
    labels = []
    for item in items:
        if set(item) - {"key", "value"} or not isinstance(item.get("key"), str) or not item["key"]:
            raise ValueError(LABELS_SHAPE)
        key, raw = item["key"], item.get("value")
        if len(key) > MAX_LABEL_KEY:
            raise ValueError(f"label key '{key[:40]}...' is longer than {MAX_LABEL_KEY} characters")
        if not isinstance(raw, str | bool | int | float):
            raise ValueError(f"label '{key}' needs a string value")
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if len(value) > MAX_LABEL_VALUE:
            raise ValueError(f"label '{key}' has a value longer than {MAX_LABEL_VALUE:,} characters")
        labels.append(Label(key=key, value=value))
    stored = len(json.dumps([label.to_json() for label in labels], ensure_ascii=False).encode())
    if stored > MAX_LABELS_BYTES:
        raise ValueError(f"labels take {stored:,} bytes together, more than {MAX_LABELS_BYTES:,}")
    return labels


def merge_labels(flow_labels: list[Label], own_labels: list[Label]) -> list[Label]:
    """The flow's labels, then the execution's own (a backfill's); on the same key the execution's win."""
    own = {label.key for label in own_labels}
    return [label for label in flow_labels if label.key not in own] + list(own_labels)
