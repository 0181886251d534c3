"""A task's `retry`, as Kestra reads and applies it: a constant, exponential or random wait between attempts of
the same task run, bounded by a number of attempts and a duration since the first attempt started.

Kestra's rules (its retry models and the executor that applies them): `maxAttempts` counts every attempt, the
first included; no retry is due once it is reached, nor when the next attempt would start past the first
attempt's start plus `maxDuration`; the wait follows the attempt that failed. An exponential wait after the
n-th attempt is `interval * delayFactor * (n - 1)` (delayFactor 2 unless given, as a whole number), never more
than `maxInterval`; a random one lies between `minInterval` and `maxInterval`."""

import random
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from backfill_core.schedules.kestra_time import parse_iso_duration

# Each attempt is kept on its task run inside the execution's record, which must stay under DynamoDB's 400 KB.
MAX_RETRY_ATTEMPTS = 100

_PER_TYPE = {
    "constant": {"interval"},
    "exponential": {"interval", "maxInterval", "delayFactor"},
    "random": {"minInterval", "maxInterval"},
}
_REQUIRED = {
    "constant": ("interval",),
    "exponential": ("interval", "maxInterval"),
    "random": ("minInterval", "maxInterval"),
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


class RetrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["constant", "exponential", "random"]
    # Kestra's documentation writes maxAttempts; its older model maxAttempt: both mean the same.
    max_attempts: int | None = Field(
        default=None, validation_alias=AliasChoices("maxAttempts", "maxAttempt"), ge=1, le=MAX_RETRY_ATTEMPTS
    )
    max_duration: timedelta | None = Field(default=None, alias="maxDuration")
    interval: timedelta | None = None
    max_interval: timedelta | None = Field(default=None, alias="maxInterval")
    min_interval: timedelta | None = Field(default=None, alias="minInterval")
    delay_factor: float | None = Field(default=None, alias="delayFactor", gt=0)
    warning_on_retry: bool = Field(default=False, alias="warningOnRetry")
    behavior: str = "RETRY_FAILED_TASK"

    @model_validator(mode="before")
    @classmethod
    def _properties_of_its_type(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("type") in _PER_TYPE:
            others = set().union(*_PER_TYPE.values()) - _PER_TYPE[raw["type"]]
            stray = sorted(others & set(raw))
            if stray:
                raise ValueError(f"{', '.join(stray)}: not a property of {_article(raw['type'])} {raw['type']} retry")
            missing = [name for name in _REQUIRED[raw["type"]] if raw.get(name) is None]
            if missing:
                raise ValueError(f"{_article(raw['type'])} {raw['type']} retry needs {' and '.join(missing)}")
        return raw

    @field_validator("max_duration", "interval", "max_interval", "min_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"'{value}' is not an ISO-8601 duration such as PT30S")
        duration = parse_iso_duration(value)
        if duration <= timedelta(0):
            raise ValueError(f"'{value}' must be longer than zero")
        return duration

    @field_validator("behavior")
    @classmethod
    def _same_execution(cls, value: str) -> str:
        if value == "CREATE_NEW_EXECUTION":
            raise ValueError(
                "CREATE_NEW_EXECUTION is not supported: a slot runs as one execution, retried tasks stay in it "
                "(RETRY_FAILED_TASK)"
            )
        if value != "RETRY_FAILED_TASK":
            raise ValueError(f"'{value}' is not RETRY_FAILED_TASK")
        return value

    @model_validator(mode="after")
    def _intervals_in_order(self) -> "RetrySpec":
        """Kestra's own checks: every wait shorter than maxDuration, and minInterval/interval below maxInterval."""
        first = self.min_interval if self.type == "random" else self.interval
        name = "minInterval" if self.type == "random" else "interval"
        if self.max_duration is not None and first is not None and first >= self.max_duration:
            raise ValueError(f"{name} must be shorter than maxDuration")
        longest = self.max_interval
        if self.type == "random" and longest and self.max_duration and longest >= self.max_duration:
            raise ValueError("maxInterval must be shorter than maxDuration")
        if self.type != "constant" and first and longest and first >= longest:
            raise ValueError(f"{name} must be shorter than maxInterval")
        return self

    def attempts_limit(self) -> int:
        return self.max_attempts or MAX_RETRY_ATTEMPTS

    def next_wait(self, attempts_done: int, first_started: datetime, last_ended: datetime) -> timedelta | None:
        """How long to wait before the next attempt, or None when no retry is due."""
        if attempts_done >= self.attempts_limit():
            return None
        wait = self._wait(attempts_done)
        if self.max_duration is not None and last_ended + wait > first_started + self.max_duration:
            return None
        return wait

    def _wait(self, attempts_done: int) -> timedelta:
        if self.type == "constant":
            return self.interval or timedelta(0)
        if self.type == "random":
            low, high = self.min_interval or timedelta(0), self.max_interval or timedelta(0)
            return low + (high - low) * random.random()
        factor = int(self.delay_factor) if self.delay_factor is not None else 2
        wait = (self.interval or timedelta(0)) * factor * (attempts_done - 1)
        return min(wait, self.max_interval or wait)
