"""The order a backfill runs its slots in: every place that depends on it asks the order, rather than branch on
its name."""

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from backfill_core.schedules.counting import count_slots, nth_slot
from backfill_core.schedules.cron import CronSchedule


class SlotOrder(StrEnum):
    OLDEST_FIRST = "oldest_first"
    NEWEST_FIRST = "newest_first"

    @property
    def reverse(self) -> "SlotOrder":
        return SlotOrder.OLDEST_FIRST if self is SlotOrder.NEWEST_FIRST else SlotOrder.NEWEST_FIRST

    def slots(self, schedule: CronSchedule, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, the first in this order first."""
        if self is SlotOrder.NEWEST_FIRST:
            return schedule.slots_newest_first(start, end, limit)
        return schedule.slots(start, end, limit)

    def slots_from(
        self, schedule: CronSchedule, start: datetime, end: datetime, first: datetime, limit: int
    ) -> list[datetime]:
        """Up to `limit` slots of the range, from `first` on in this order."""
        return (
            self.slots(schedule, start, first, limit)
            if self is SlotOrder.NEWEST_FIRST
            else self.slots(schedule, first, end, limit)
        )

    def nth(self, schedule: CronSchedule, start: datetime, end: datetime, index: int) -> datetime | None:
        """The slot at `index` (0 first) in this order, found by counting rather than stepping."""
        if self is SlotOrder.NEWEST_FIRST:
            index = count_slots(schedule, start, end) - 1 - index
        return nth_slot(schedule, start, end, index)

    def nth_near(
        self, schedule: CronSchedule, start: datetime, end: datetime, index: int, known: tuple[datetime, int] | None
    ) -> datetime | None:
        """The slot at `index`, counted on from a `known` (slot, index) before it when there is one: deep in a long
        range, a lane's next slot is found near its last rather than from the start."""
        if known is not None and self is SlotOrder.OLDEST_FIRST and index >= known[1]:
            return nth_slot(schedule, known[0], end, index - known[1])
        return self.nth(schedule, start, end, index)

    def index_of(self, schedule: CronSchedule, start: datetime, end: datetime, slot: datetime) -> int:
        """The index (0 first) in this order of a slot of the range."""
        if self is SlotOrder.NEWEST_FIRST:
            return count_slots(schedule, slot, end) - 1
        return count_slots(schedule, start, slot) - 1

    def first_of(self, slots: Iterable[datetime]) -> datetime:
        return max(slots) if self is SlotOrder.NEWEST_FIRST else min(slots)

    def reached(self, slot: datetime, cursor: datetime) -> bool:
        """`slot` is at `cursor` or after it in this order: not dispatched yet."""
        return slot <= cursor if self is SlotOrder.NEWEST_FIRST else slot >= cursor
