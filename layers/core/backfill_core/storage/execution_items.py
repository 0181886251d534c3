"""What every reader of an ExecutionsTable item shares: its sort key and how its JSON attributes are kept.

The execution's body and its inline log lines are zlib-compressed (to about a third): a one-task slot's final
save then fits in one write unit (1 KB) rather than two, and every execution costs less to store and to read.
Items written before keep them as text, and read as they were."""

import json
import zlib
from typing import Any

EXECUTION = "EXECUTION"  # the execution item's sort key
BODY = "bodyZ"
LOG_LINES = "logLinesZ"
_AS_TEXT = {BODY: "body", LOG_LINES: "logLines"}  # each one's name in items written before it was compressed


def packed(value: Any) -> dict[str, bytes]:
    return {"B": zlib.compress(json.dumps(value, separators=(",", ":")).encode())}


def unpacked(item: dict, name: str) -> Any:
    """The attribute `name` (BODY or LOG_LINES) of the item; None when it has none."""
    if name in item:
        return json.loads(zlib.decompress(item[name]["B"]))
    if _AS_TEXT[name] in item:
        return json.loads(item[_AS_TEXT[name]]["S"])
    return None
