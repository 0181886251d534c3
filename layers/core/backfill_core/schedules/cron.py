"""A Schedule trigger's cron, evaluated in the trigger's timezone: its slots and their neighbours."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from backfill_core.schedules.conditions import SlotRule, keeps, slot_rule

NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)
# Every (month, day of month, weekday) combination, 29 February included, occurs within 28 years: a schedule whose
# conditions allow none of its days in that long allows none ever (registration refuses it; see counting).
CONDITIONS_CYCLE = timedelta(days=28 * 366)
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
    def __init__(self, cron: str, timezone: str = "UTC", with_seconds: bool = False, conditions: Any = None):
        self.cron = cron.strip()
        self.timezone = timezone
        self.with_seconds = with_seconds
        self.zone = zone(timezone)
        self.conditions = conditions
        self.rule: SlotRule | None = slot_rule(conditions)  # the trigger's conditions on a slot's local time
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
        # wildcard or a step runs at every real instant. A fixed-hour time that a spring-forward gap skips
        # runs at the first instant after it (if its local day exists at all: Apia skipped 30 December 2011
        # whole, and 31 December runs once); a fixed-hour time that fall-back repeats runs at its first pass.
        if fields[0].startswith("@"):
            self.fixed_hour = fields[0].lower() != "@hourly"
        else:
            self.fixed_hour = not any(c in fields[2 if with_seconds else 1] for c in "*/")

    def slot_at_gap_end(self, instant: datetime) -> bool:
        """Whether the first instant after a spring-forward gap is a slot (what `slots` gives there)."""
        gap_start = self._gap_ending_at(instant)
        if gap_start is None:
            raise ValueError(f"{instant.isoformat()} does not end a gap in {self.timezone}")
        local = instant.astimezone(self.zone)
        wall = local.replace(tzinfo=None)
        return self._allowed(wall, local.utcoffset() or timedelta(0)) and (
            self._matches(wall) or self._moved_out_of_gap(gap_start, wall)
        )

    @property
    def _walk(self) -> dict[str, Any]:
        return {"second_at_beginning": self.with_seconds}

    def _allowed(self, wall: datetime, offset: timedelta) -> bool:
        return keeps(self.rule, wall, offset)

    def _out_of_bounds(self, instant: datetime, forward: bool) -> bool:
        """Past the last (or, going back, before the first) instant a DateTimeBetween of the conditions keeps."""
        bound = None if self.rule is None else (self.rule.before if forward else self.rule.after)
        return bound is not None and (instant >= bound if forward else instant <= bound)

    def _next_kept(self, local: datetime, offset: timedelta) -> datetime | None:
        """None when the rule keeps this wall time, else the wall time from which to look for the next slot."""
        if self.rule is None:
            return None
        day, second = datetime.combine(local.date(), time()), local.hour * 3600 + local.minute * 60 + local.second
        later = [low for low, high in self.rule.kept(local.date(), offset) if high >= second]
        if later and later[0] <= second:
            return None
        return day + (timedelta(seconds=later[0]) if later else DAY)

    def _previous_kept(self, local: datetime, offset: timedelta) -> datetime | None:
        """None when the rule keeps this wall time, else the wall time before which to look for the slot."""
        if self.rule is None:
            return None
        day, second = datetime.combine(local.date(), time()), local.hour * 3600 + local.minute * 60 + local.second
        earlier = [high for low, high in self.rule.kept(local.date(), offset) if low <= second]
        if earlier and earlier[-1] >= second:
            return None
        return day + (timedelta(seconds=earlier[-1] + 1) if earlier else timedelta(0))

    def _matches(self, wall: datetime) -> bool:
        whole = wall.microsecond == 0 and (self.with_seconds or wall.second == 0)  # croniter.match ignores those
        return whole and croniter.match(self.cron, wall, second_at_beginning=self.with_seconds)

    def _moved_out_of_gap(self, gap_start: datetime, gap_end: datetime) -> bool:
        """A fixed-hour job runs a time a gap skipped at the gap's end, when that time's local day exists."""
        return self.fixed_hour and self._skipped_on_an_existing_day(gap_start, gap_end)

    def _gap_ending_at(self, slot: datetime) -> datetime | None:
        """When `slot` is the first instant after a spring-forward gap, the gap's first skipped wall time."""
        instant = slot.astimezone(UTC)
        before = (instant - TICK).astimezone(self.zone).utcoffset()
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

    # Slots are returned in UTC: Python never finds an aware time in a repeated local hour equal to the same
    # instant in another zone (PEP 495), so zone-local slots would compare wrongly. `local()` is for display.

    # Between two changes of the zone's offset each local time is one instant, so the cron's wall times are
    # walked without a zone (croniter's own DST handling depends on where its walk starts: from before Lord
    # Howe's repeated half hour it skipped part of it) and the walk starts again at each change, where the
    # rule above applies: a gap's skipped times (fixed hour) run at its end; the repeated pass of a fall-back
    # runs only for a job whose hour is a wildcard or a step.

    def _forward(self, base: datetime, until: datetime | None = None) -> Iterator[datetime]:
        """The slots strictly after `base` (up to `until`, when given), oldest first, in UTC."""
        at, inclusive = base.astimezone(UTC), False
        kept = at  # the last slot given (or the start): a whole cycle on from it with no day allowed ends the walk
        while True:
            offset = at.astimezone(self.zone).utcoffset() or timedelta(0)
            wall = (at + offset).replace(tzinfo=None)
            walk = croniter(self.cron, wall - TICK if inclusive else wall, second_at_beginning=self.with_seconds)
            checked = at
            while True:
                local = walk.get_next(datetime)
                instant = (local - offset).replace(tzinfo=UTC)
                changes = offset_changes(self.zone, checked, instant)
                if changes:
                    break
                checked = instant
                if self._out_of_bounds(instant, forward=True) or (until is not None and instant > until):
                    return
                resume = self._next_kept(local, offset)
                if resume is not None:  # on to the next time the conditions keep, not the next slot
                    if instant - kept > CONDITIONS_CYCLE:
                        return  # no day allowed in a whole calendar cycle: none ever will be
                    walk = croniter(self.cron, resume - TICK, **self._walk)
                    continue
                if not (self.fixed_hour and instant.astimezone(self.zone).fold):  # a start in the repeated pass
                    kept = instant
                    yield instant
            change, before, after = changes[0]
            at, inclusive = change, True
            if after > before:
                gap_start, gap_end = (change + before).replace(tzinfo=None), (change + after).replace(tzinfo=None)
                allowed = self._allowed(gap_end, after) and not self._out_of_bounds(change, forward=True)
                if allowed and not self._matches(gap_end) and self._moved_out_of_gap(gap_start, gap_end):
                    yield change
            elif self.fixed_hour:
                at = change + (before - after)  # the repeated pass: a fixed-hour job ran in the first one

    def _backward(self, base: datetime, since: datetime | None = None) -> Iterator[datetime]:
        """The slots strictly before `base` (down to `since`, when given), newest first, in UTC."""
        at = base.astimezone(UTC)
        checked = at - TICK
        kept = at
        while True:
            offset = (at - TICK).astimezone(self.zone).utcoffset() or timedelta(0)
            wall = (at + offset).replace(tzinfo=None)
            if wall.microsecond:  # croniter drops the fraction: a slot on the whole second before `at` counts
                wall = wall.replace(microsecond=0) + timedelta(seconds=1)
            walk = croniter(self.cron, wall, second_at_beginning=self.with_seconds)
            while True:
                local = walk.get_prev(datetime)
                instant = (local - offset).replace(tzinfo=UTC)
                changes = offset_changes(self.zone, instant, checked)
                if changes:
                    break
                checked = instant
                if self._out_of_bounds(instant, forward=False) or (since is not None and instant < since):
                    return
                resume = self._previous_kept(local, offset)
                if resume is not None:  # back to the last time the conditions keep, not the slot before
                    if kept - instant > CONDITIONS_CYCLE:
                        return  # no day allowed in a whole calendar cycle: none ever was
                    walk = croniter(self.cron, resume, **self._walk)
                    continue
                if not (self.fixed_hour and instant.astimezone(self.zone).fold):  # the repeated pass
                    kept = instant
                    yield instant
            change, before, after = changes[-1]
            if after > before:
                gap_start, gap_end = (change + before).replace(tzinfo=None), (change + after).replace(tzinfo=None)
                allowed = self._allowed(gap_end, after) and not self._out_of_bounds(change, forward=False)
                moved = allowed and self._moved_out_of_gap(gap_start, gap_end)
                if change < at and not self._matches(gap_end) and moved:
                    yield change
            at, checked = change, change - TICK

    def next_after(self, moment: datetime) -> datetime | None:
        """The first slot strictly after `moment`; None when the conditions keep none (a DateTimeBetween's
        `before` passed: Kestra then leaves the next date out)."""
        return next(self._forward(moment), None)

    def previous_before(self, moment: datetime) -> datetime | None:
        """The last slot strictly before `moment`; None when the conditions keep none."""
        return next(self._backward(moment), None)

    def first_at_or_after(self, moment: datetime) -> datetime | None:
        whole = moment.replace(microsecond=0)
        base = whole if moment.microsecond else whole - timedelta(seconds=1)
        return self.next_after(base)

    def slots(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, oldest first, in UTC."""
        whole = start.replace(microsecond=0)
        found: list[datetime] = []
        for slot in self._forward(whole if start.microsecond else whole - timedelta(seconds=1), end):
            if len(found) >= limit or slot > end:
                break
            found.append(slot)
        return found

    def slots_newest_first(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, newest first, in UTC."""
        found: list[datetime] = []
        for slot in self._backward(end + timedelta(seconds=1) if not end.microsecond else end, start):
            if len(found) >= limit or slot < start:
                break
            if slot <= end:
                found.append(slot)
        return found

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def local_or_none(self, moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(self.zone)
