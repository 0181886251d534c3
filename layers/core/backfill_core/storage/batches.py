"""DynamoDB's batch calls. Their answers hand back what they left undone (UnprocessedKeys, UnprocessedItems: an
answer over 16 MB, or throttling), and botocore retries a throttled call, not the part a successful one left. That
part is sent again here, each time after a random wait up to a doubling bound (full jitter, so throttled callers
spread out: 0.1 s, then 0.2, 0.4, ... capped at 2 s), and given up on after UNPROCESSED_RETRIES: about 5 s in all,
within any invocation's time, rather than hammering a throttled table until the function times out."""

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from backfill_core.aws_clients import dynamodb

BATCH_GET_KEYS = 100  # BatchGetItem's most keys a call
BATCH_WRITE_ITEMS = 25  # BatchWriteItem's most requests a call
UNPROCESSED_RETRIES = 6
UNPROCESSED_BACKOFF_SECONDS = 0.05
UNPROCESSED_BACKOFF_CAP_SECONDS = 2.0


class Unprocessed(Exception):
    """DynamoDB still held back part of a batch after every retry: the table is throttled for longer than a call
    may wait. Safe to try again: a get reads, and each write request is a put or delete of its own key."""

    def __init__(self, table: str, left: int):
        super().__init__(f"DynamoDB held back {left} requests to {table} after {UNPROCESSED_RETRIES} retries")
        self.left = left


def get_items(table: str, keys: Sequence[dict], consistent: bool, **read: Any) -> list[dict]:
    """The items of these keys that exist, in no particular order; `read` adds BatchGetItem's per-table
    parameters (ProjectionExpression, ExpressionAttributeNames)."""
    found: list[dict] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        request = {table: {"Keys": list(keys[start : start + BATCH_GET_KEYS]), "ConsistentRead": consistent, **read}}
        for answer in _until_done(
            table, request, "UnprocessedKeys", lambda r: dynamodb().batch_get_item(RequestItems=r)
        ):
            found += answer["Responses"].get(table, [])
    return found


def write_items(table: str, requests: Sequence[dict]) -> None:
    """BatchWriteItem's PutRequest and DeleteRequest entries, all of them written."""
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        request = {table: list(requests[start : start + BATCH_WRITE_ITEMS])}
        for _ in _until_done(table, request, "UnprocessedItems", _write):
            pass


def _get(request: dict) -> dict:
    return dynamodb().batch_get_item(RequestItems=request)


def _write(request: dict) -> dict:
    return dynamodb().batch_write_item(RequestItems=request)


def _until_done(table: str, request: dict, left_out: str, call: Callable[[dict], dict]) -> Iterator[dict]:
    """Each answer of `call`, the first to `request`, each next one to what the one before left out."""
    for retry in range(UNPROCESSED_RETRIES + 1):
        if retry:
            time.sleep(random.uniform(0, min(UNPROCESSED_BACKOFF_SECONDS * 2**retry, UNPROCESSED_BACKOFF_CAP_SECONDS)))
        answer = call(request)
        yield answer
        request = answer.get(left_out) or {}
        if not request:
            return
    pending = request[table]
    raise Unprocessed(table, len(pending["Keys"]) if isinstance(pending, dict) else len(pending))
