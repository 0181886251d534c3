"""What DynamoDB says when a conditional write lost: the caller reads again and decides anew."""

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def condition_failed(exc: ClientError) -> bool:
    """A condition failed, or another transaction held one of the items: either way, read again."""
    error = exc.response["Error"]
    if error["Code"] == "ConditionalCheckFailedException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return error["Code"] == "TransactionCanceledException" and any(
        r.get("Code") in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons
    )


def written(write: Callable[..., Any], **request: Any) -> bool:
    """Make one conditional write (`write(**request)`); False if its condition failed, an answer for callers to
    whom a lost write is no error (someone else wrote first, or the item is not as they need it)."""
    try:
        write(**request)
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
