"""Kestra-style ids: 22 base62 characters from a UUID; derived ids make creation idempotent."""

import uuid

# Kestra's id rules (AbstractFlow, TaskInterface, TriggerInterface; the lengths it leaves open are its database
# columns, VARCHAR(150)). They keep every DynamoDB key built from ids far under DynamoDB's key limits.
FLOW_ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
NAMESPACE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"  # tasks, triggers, inputs
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"  # Kestra's tenantId (Execution, LogEntry, TaskRun)
MAX_FLOW_ID = 100
MAX_NAMESPACE = 150
MAX_ID = 150  # task and trigger ids (input ids the same)
MAX_TENANT = 150  # Kestra's tenant ids have no length rule: a namespace's, so a key stays under DynamoDB's limits
MAX_RECORD_ID = 100  # execution and backfill ids as a request may give them: ours are 22 characters

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NAMESPACE = uuid.UUID("6f1d2a8e-3c1b-4b7e-9a55-0c7d2b1e9f10")


def _base62(value: int) -> str:
    text = ""
    while value:
        value, digit = divmod(value, 62)
        text = _ALPHABET[digit] + text
    return text.rjust(22, "0")


def new_id() -> str:
    return _base62(uuid.uuid4().int)


def derived_id(*parts: str) -> str:
    """The same parts always give the same id (uuid5)."""
    return _base62(uuid.uuid5(_NAMESPACE, "/".join(parts)).int)


def backfill_execution_id(backfill_id: str, slot_key: str, round_: int = 0) -> str:
    """The one execution of a backfill's slot in a round: derived, so a redelivered message finds it again."""
    parts = ("backfill", backfill_id, slot_key) + ((f"round{round_}",) if round_ else ())
    return derived_id(*parts)


def live_execution_id(trigger_pk: str, slot_key: str) -> str:
    """The one execution of a live schedule's slot."""
    return derived_id("schedule", trigger_pk, slot_key)


def subflow_execution_id(parent_execution_id: str, call_key: tuple[str, ...]) -> str:
    """The one child of a Subflow task's attempt in its parent execution: a parent that runs again after a crash
    finds its child again instead of starting a second one."""
    return derived_id("subflow", parent_execution_id, *call_key)
