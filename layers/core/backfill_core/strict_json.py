"""JSON as the API and the flow inputs read it."""

import json
from decimal import Decimal
from typing import Any


def json_loads(text: str) -> Any:
    """JSON as the API reads it. An integer past Python's int-string limit (4,300 digits) stays a number, as a
    Decimal, rather than fail the whole parse: the field that receives it refuses it by name (every integer
    field is bounded; a string field refuses a number)."""
    return json.loads(text, parse_int=_integer)


def _integer(digits: str) -> int | Decimal:
    try:
        return int(digits)
    except ValueError:
        return Decimal(digits)
