"""Kestra-style ids: 22 base62 characters from a UUID; derived ids make creation idempotent."""

import uuid

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
