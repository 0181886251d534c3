"""A backfill's run window: the local hours (and days) during which its slots may start, e.g. 01:00 to 06:00 on
weeknights, so that a replay runs when the system it feeds is quiet. A window whose end is not after its start runs
overnight, into the next day; `days` are the days it opens on."""

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator

from backfill_core.kestra_model import KestraModel
from backfill_core.schedules.cron import CronError, zone
from backfill_core.schedules.kestra_time import now

WallTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="a local time, HH:MM")]


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


WEEK = list(DayOfWeek)


class RunWindow(KestraModel):
    """When a backfill's slots may start: from `from` to `to`, local time in `timezone` (the trigger's when not
    given), on `days` (every day when not given)."""

    model_config = ConfigDict(extra="forbid")
    opens: WallTime = Field(alias="from")
    closes: WallTime = Field(alias="to")
    days: list[DayOfWeek] = Field(default_factory=lambda: list(WEEK), min_length=1)
    timezone: str | None = Field(default=None, description="an IANA zone; the trigger's when not given")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except CronError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> "RunWindow":
        if self.opens == self.closes:
            raise ValueError(f"from and to are both {self.opens}: the window would never close (or never open)")
        self.days = sorted(set(self.days), key=WEEK.index)
        return self

    def in_zone(self, timezone: str) -> "RunWindow":
        """The window with its zone filled in (the trigger's, when it named none)."""
        return self if self.timezone else self.model_copy(update={"timezone": timezone})

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening (open, close) as aware datetimes; None on a day it does not open."""
        if WEEK[day.weekday()] not in self.days:
            return None
        where = zone(self.timezone or "UTC")
        opens, closes = time.fromisoformat(self.opens), time.fromisoformat(self.closes)
        start = datetime.combine(day, opens, where)
        return start, datetime.combine(day + timedelta(days=1) if closes <= opens else day, closes, where)

    def _spans(self, around: date) -> list[tuple[datetime, datetime]]:
        """The openings of the days around `around`, a day before to a week after."""
        spans = (self._span(around + timedelta(days=offset)) for offset in range(-1, 9))
        return [span for span in spans if span is not None]

    def finish_after(self, start: datetime, open_seconds: float) -> datetime:
        """When work needing `open_seconds` of open time, begun at `start`, ends: the closed hours waited out."""
        left = open_seconds
        day = start.astimezone(zone(self.timezone or "UTC")).date() - timedelta(days=1)
        for _ in range(366 * 100):
            span = self._span(day)
            day += timedelta(days=1)
            if span is None or span[1] <= start:
                continue
            begin = max(span[0], start)
            length = (span[1] - begin).total_seconds()
            if left <= length:
                return begin + timedelta(seconds=left)
            left -= length
        raise ValueError("the run window leaves too little open time for a century")

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(zone(self.timezone or "UTC"))
        return any(start <= at < end for start, end in self._spans(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """When the window next opens after `at`; None while it is open."""
        if self.is_open(at):
            return None
        local = at.astimezone(zone(self.timezone or "UTC"))
        return min(start for start, _ in self._spans(local.date()) if start > at)


clock = now  # what "now" is for a run window (a test moves it)


def open_now(window: RunWindow | None) -> bool:
    """Whether a backfill with this window may start a slot now (always, without a window)."""
    return window is None or window.is_open(clock())


def opens_next(window: RunWindow) -> datetime | None:
    """When the window opens next; None while it is open."""
    return window.next_opening(clock())
