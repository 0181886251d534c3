"""What DynamoDB says when a conditional write lost: the caller reads again and decides anew."""

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
