"""A Schedule trigger's cron, evaluated in the trigger's timezone: its slots and their neighbours."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


TICK = timedelta(microseconds=1)
SCAN = timedelta(days=1)  # how often to look for offset changes: no zone changes twice within 4 days, 1900-2200


def offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta, timedelta]]:
    """Each instant in (start, end] at which the zone's offset changes, with the offsets before and after."""
    changes = []
    low = start.astimezone(UTC)
    low_offset = low.astimezone(zone).utcoffset() or timedelta(0)
    while low < end:
        high = min(low + SCAN, end)
        high_offset = high.astimezone(zone).utcoffset() or timedelta(0)
        if high_offset != low_offset:
            before, after = low, high  # bisect to the first instant of the new offset
            while after - before > TICK:
                middle = before + (after - before) // 2
                if middle.astimezone(zone).utcoffset() == low_offset:
                    before = middle
                else:
                    after = middle
            changes.append((after, low_offset, high_offset))
        low, low_offset = high, high_offset
    return changes


class CronError(ValueError):
    """The cron or the timezone is not valid; the message says which and why."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"timezone '{name}' is not an IANA time zone such as 'Europe/Paris'") from exc


class CronSchedule:
    def __init__(self, cron: str, timezone: str = "UTC", with_seconds: bool = False):
        self.cron = cron.strip()
        self.timezone = timezone
        self.with_seconds = with_seconds
        self.zone = zone(timezone)
        fields = self.cron.split()
        if len(fields) == 1 and fields[0].startswith("@"):
            if fields[0].lower() not in NICKNAMES:
                raise CronError(f"cron '{cron}' is not one of the nicknames {', '.join(NICKNAMES)}")
        else:
            expected = 6 if with_seconds else 5
            if len(fields) != expected:
                hint = " (set withSeconds: true for a seconds field)" if len(fields) == 6 else ""
                raise CronError(f"cron '{cron}' must have {expected} fields, it has {len(fields)}{hint}")
            if not croniter.is_valid(self.cron, second_at_beginning=with_seconds):
                raise CronError(f"cron '{cron}' is not a valid cron expression")
            try:  # such as 0 0 31 2 *: valid field by field, yet no date matches
                croniter(self.cron, datetime(2000, 1, 1), second_at_beginning=with_seconds).get_next(datetime)
            except CroniterBadDateError as exc:
                raise CronError(f"cron '{cron}' never fires: no date matches all of its fields") from exc

        # Classic cron's DST rule: a job whose hour is fixed runs once per local day, a job whose hour is a
        # wildcard or a step runs at every real instant. croniter already moves a fixed-hour slot that
        # falls in a spring-forward gap to the first instant after it; on a fall-back day it gives a
        # fixed-hour slot in the repeated hour twice (the second is dropped), and it moves some step-hour
        # slots out of a gap too (dropped: their wall time matches no cron field).
        self._time_sets: tuple[set[int], set[int], set[int]] | None = None
        if fields[0].startswith("@"):
            self.fixed_hour = fields[0].lower() != "@hourly"
        else:
            self.fixed_hour = not any(c in fields[2 if with_seconds else 1] for c in "*/")

    def _walk(self, base: datetime) -> croniter:
        return croniter(self.cron, base.astimezone(self.zone), second_at_beginning=self.with_seconds)

    def _dropped(self, slot: datetime) -> bool:
        """A slot the DST rule removes: for a fixed hour, the second occurrence of a local time repeated by
        fall-back; otherwise, a slot croniter moved out of a spring-forward gap (its wall time is no match).
        A slot at the end of a gap that its wall time does not explain stands for a skipped local time: a
        fixed-hour job keeps it only if that time's local day exists (Apia skipped 30 December 2011
        whole: that day has no slot, and 31 December runs once)."""
        wall = slot.replace(tzinfo=None)
        if self.fixed_hour:
            first = wall.replace(tzinfo=self.zone, fold=0)
            if first.astimezone(UTC) != slot.astimezone(UTC):
                return True
        else:
            hours, minutes, seconds = self._times_of_day()
            if not (wall.hour in hours and wall.minute in minutes and wall.second in seconds):
                return True
        gap_start = self._gap_ending_at(slot)
        return gap_start is not None and not self._runs_after_gap(gap_start, wall)

    def slot_at_gap_end(self, instant: datetime) -> bool:
        """Whether the first instant after a spring-forward gap is a slot (what `slots` gives there)."""
        gap_start = self._gap_ending_at(instant)
        if gap_start is None:
            raise ValueError(f"{instant.isoformat()} does not end a gap in {self.timezone}")
        return self._runs_after_gap(gap_start, instant.astimezone(self.zone).replace(tzinfo=None))

    def _runs_after_gap(self, gap_start: datetime, wall: datetime) -> bool:
        """The first instant after a gap is a slot when its own wall time matches, or, for a fixed-hour job,
        when it stands for a skipped time whose local day exists."""
        whole = wall.microsecond == 0 and (self.with_seconds or wall.second == 0)  # croniter.match ignores those
        if whole and croniter.match(self.cron, wall, second_at_beginning=self.with_seconds):
            return True
        return self.fixed_hour and self._skipped_on_an_existing_day(gap_start, wall)

    def _gap_ending_at(self, slot: datetime) -> datetime | None:
        """When `slot` is the first instant after a spring-forward gap, the gap's first skipped wall time."""
        instant = slot.astimezone(UTC)
        before = (instant - timedelta(microseconds=1)).astimezone(self.zone).utcoffset()
        after = instant.astimezone(self.zone).utcoffset()
        if before is None or after is None or before >= after:
            return None
        return (instant + before).replace(tzinfo=None)

    def _skipped_on_an_existing_day(self, gap_start: datetime, gap_end: datetime) -> bool:
        """Whether a wall time of the cron in [gap_start, gap_end) falls on a local day that exists, i.e. a
        day not wholly inside the gap."""
        walk = croniter(self.cron, gap_start - timedelta(microseconds=1), second_at_beginning=self.with_seconds)
        while (skipped := walk.get_next(datetime)) < gap_end:
            day_start = datetime.combine(skipped.date(), time())
            if day_start < gap_start or day_start + timedelta(days=1) > gap_end:
                return True
            walk = croniter(
                self.cron, day_start + timedelta(days=1, microseconds=-1), second_at_beginning=self.with_seconds
            )
        return False

    def _times_of_day(self) -> tuple[set[int], set[int], set[int]]:
        """The hours, minutes and seconds the cron allows (every value where the field is a wildcard)."""
        if self._time_sets is None:
            fields, _ = croniter.expand(self.cron, second_at_beginning=self.with_seconds)
            minutes, hours = fields[0], fields[1]
            seconds = fields[5] if self.with_seconds and len(fields) == 6 else [0]

            def values(field: list, top: int) -> set[int]:
                return set(range(top + 1)) if field == ["*"] else {v for v in field if isinstance(v, int)}

            self._time_sets = (values(hours, 23), values(minutes, 59), values(seconds, 59))
        return self._time_sets

    # Slots are returned in UTC: Python never finds an aware time in a repeated local hour equal to the same
    # instant in another zone (PEP 495), so zone-local slots would compare wrongly. `local()` is for display.

    def _forward(self, base: datetime) -> Iterator[datetime]:
        """The slots strictly after `base`, oldest first, in UTC."""
        if not self.fixed_hour:
            yield from self._real_instants_forward(base)
            return
        walk = self._walk(base)
        while True:
            slot = walk.get_next(datetime)
            if not self._dropped(slot):
                yield slot.astimezone(UTC)

    def _backward(self, base: datetime) -> Iterator[datetime]:
        """The slots strictly before `base`, newest first, in UTC."""
        if not self.fixed_hour:
            yield from self._real_instants_backward(base)
            return
        walk = self._walk(base)
        while True:
            slot = walk.get_prev(datetime)
            if not self._dropped(slot):
                yield slot.astimezone(UTC)

    # A job whose hour is a wildcard or a step runs at every real instant whose wall time matches. croniter
    # steps such a job through a fall-back differently depending on where it starts (from before a repeated
    # half hour it skips part of it), so between two changes of offset the wall times are walked without a
    # zone and each is one instant; at a change the walk starts again with the new offset.

    def _real_instants_forward(self, base: datetime) -> Iterator[datetime]:
        at, inclusive = base.astimezone(UTC), False
        while True:
            offset = at.astimezone(self.zone).utcoffset() or timedelta(0)
            wall = (at + offset).replace(tzinfo=None)
            walk = croniter(self.cron, wall - TICK if inclusive else wall, second_at_beginning=self.with_seconds)
            checked = at
            while True:
                instant = (walk.get_next(datetime) - offset).replace(tzinfo=UTC)
                changes = offset_changes(self.zone, checked, instant)
                if changes:
                    at, inclusive = changes[0][0], True
                    break
                checked = instant
                yield instant

    def _real_instants_backward(self, base: datetime) -> Iterator[datetime]:
        at = base.astimezone(UTC)
        while True:
            offset = (at - TICK).astimezone(self.zone).utcoffset() or timedelta(0)
            wall = (at + offset).replace(tzinfo=None)
            walk = croniter(self.cron, wall, second_at_beginning=self.with_seconds)
            checked = at
            while True:
                instant = (walk.get_prev(datetime) - offset).replace(tzinfo=UTC)
                changes = offset_changes(self.zone, instant, checked - TICK)
                if changes:
                    at = changes[-1][0]
                    break
                checked = instant
                yield instant

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment`."""
        return next(self._forward(moment))

    def previous_before(self, moment: datetime) -> datetime:
        """The last slot strictly before `moment`."""
        return next(self._backward(moment))

    def first_at_or_after(self, moment: datetime) -> datetime:
        whole = moment.replace(microsecond=0)
        base = whole if moment.microsecond else whole - timedelta(seconds=1)
        return self.next_after(base)

    def slots(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, oldest first, in UTC."""
        whole = start.replace(microsecond=0)
        found: list[datetime] = []
        for slot in self._forward(whole if start.microsecond else whole - timedelta(seconds=1)):
            if len(found) >= limit or slot > end:
                break
            found.append(slot)
        return found

    def slots_newest_first(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, newest first, in UTC."""
        found: list[datetime] = []
        for slot in self._backward(end + timedelta(seconds=1) if not end.microsecond else end):
            if len(found) >= limit or slot < start:
                break
            if slot <= end:
                found.append(slot)
        return found

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)
