"""Counting a cron's slots in a range without stepping through them: the dry run answers for a century of
every-second slots (over three billion) in well under a second per year of range, exactly, DST included.

A cron is a set of days times a set of times of day. Between two changes of the zone's offset every local
time is exactly one instant, so a span counts by arithmetic: whole matching days hold every time of day,
the days cut by the span's ends the times between the cut points. At a change: the first instant after a
spring-forward gap, where croniter puts the times it skipped, is asked of the same CronSchedule the executor
uses; a fixed-hour job has no slot in the repeated pass of a fall-back, the others run at each real instant.
Days given by `L`, `#` or `W` are found by stepping croniter one matching day at a time through one month of
each calendar shape, never one slot at a time, so every cron form counts in time bounded by the range's days.
With no conditions on the trigger, the whole months inside a span count a month at a time (which days of a month
match depends only on its shape), so the slot deep in a long range that a slots page starts at (nth_slot) is found
in time bounded by the range's months, not its days.
"""

from bisect import bisect_left, bisect_right
from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from croniter import CroniterBadDateError, croniter

from backfill_core.schedules.conditions import WHOLE, SlotRule
from backfill_core.schedules.cron import CONDITIONS_CYCLE, SCAN, TICK, CronSchedule, offset_changes

CYCLE_END = datetime(2028, 1, 1, tzinfo=UTC)  # the calendar cycle looked through when no date bounds it


class _TimesOfDay:
    """The cron's times of day, as sorted hours, minutes and seconds; counts those in a wall-clock span."""

    def __init__(self, hours: list[int], minutes: list[int], seconds: list[int]):
        self.hours, self.minutes, self.seconds = hours, minutes, seconds
        self.per_day = len(hours) * len(minutes) * len(seconds)

    def at_or_before(self, moment: time) -> int:
        """How many times of day t have t <= moment."""
        h, m, s = moment.hour, moment.minute, moment.second
        count = bisect_left(self.hours, h) * len(self.minutes) * len(self.seconds)
        if h in self.hours:
            count += bisect_left(self.minutes, m) * len(self.seconds)
            if m in self.minutes:
                count += bisect_right(self.seconds, s)
        return count

    def between(self, low: time, high: time) -> int:
        """Times of day t with low <= t <= high (whole seconds; a fraction of `low` rounds it up)."""
        if high < low:
            return 0
        below = self.at_or_before(low) - (1 if self._contains(low) and not low.microsecond else 0)
        return self.at_or_before(high) - below

    def nth_from(self, low: time, index: int) -> time:
        """The time of day `index` places after the first one at or after `low` (a whole second)."""
        rank = self.at_or_before(low) - self._contains(low) + index
        per_hour, per_minute = len(self.minutes) * len(self.seconds), len(self.seconds)
        hour, rest = divmod(rank, per_hour)
        minute, second = divmod(rest, per_minute)
        return time(self.hours[hour], self.minutes[minute], self.seconds[second])

    def _contains(self, moment: time) -> bool:
        return moment.hour in self.hours and moment.minute in self.minutes and moment.second in self.seconds


def _field(values: list, low: int, high: int) -> list[int] | None:
    if values == ["*"]:
        return list(range(low, high + 1))
    if all(isinstance(v, int) for v in values):
        return sorted({v for v in values})
    return None


def _cron_fields(schedule: CronSchedule) -> tuple[str, str, str]:
    """The day-of-month, month and day-of-week fields as written (nicknames spelled out)."""
    fields = schedule.cron.split()
    if len(fields) == 1:
        nickname = fields[0].lower()
        return {"@yearly": ("1", "1", "*"), "@annually": ("1", "1", "*"), "@monthly": ("1", "*", "*")}.get(
            nickname, ("*", "*", "0" if nickname == "@weekly" else "*")
        )
    dom, month, dow = fields[3:6] if schedule.with_seconds else fields[2:5]
    return dom, month, dow


def _expand(schedule: CronSchedule):
    """(times of day, day matcher): the cron's days that the trigger's conditions may keep some of."""
    times, matches = _expand_cron(schedule)
    rule = schedule.rule
    if rule is None:
        return times, matches
    return times, lambda day: matches(day) and rule.maybe(day)


def _expand_cron(schedule: CronSchedule):
    fields, nth = croniter.expand(schedule.cron, second_at_beginning=schedule.with_seconds)
    if schedule.with_seconds and len(fields) == 6:
        minutes, hours, doms, months, dows, seconds = fields
    else:
        (minutes, hours, doms, months, dows), seconds = fields[:5], [0]
    minute_set, hour_set, second_set = _field(minutes, 0, 59), _field(hours, 0, 23), _field(seconds, 0, 59)
    if minute_set is None or hour_set is None or second_set is None:
        raise ValueError(f"cron '{schedule.cron}': its times of day are not plain values")  # croniter has no such form
    dom_set, month_set, dow_set = _field(doms, 1, 31), _field(months, 1, 12), _field(dows, 0, 7)
    dom, _, _ = _cron_fields(schedule)
    if nth or "w" in dom.lower() or dom_set is None or month_set is None or dow_set is None:
        return _TimesOfDay(hour_set, minute_set, second_set), _special_days(schedule)
    dom_any, dow_any = doms == ["*"], dows == ["*"]
    doms_, months_, dows_ = set(dom_set), set(month_set), {d % 7 for d in dow_set}

    def matches(day: date) -> bool:
        if day.month not in months_:
            return False
        by_dom, by_dow = day.day in doms_, (day.weekday() + 1) % 7 in dows_
        if dom_any and dow_any:
            return True
        if dom_any:
            return by_dow
        if dow_any:
            return by_dom
        return by_dom or by_dow  # both restricted: either, as cron (and croniter's day_or) does

    return _TimesOfDay(hour_set, minute_set, second_set), matches


def _special_days(schedule: CronSchedule):
    """The day matcher of a cron with `L`, `#` or `W`. Which days of a month match depends only on the
    month's number, the weekday of its first day and its length: croniter is stepped from one matching day
    to the next through the first month of each such shape met (at most 91), never through slots."""
    dom, month, dow = _cron_fields(schedule)
    expression = f"0 0 {dom} {month} {dow}"
    shapes: dict[tuple[int, int, int], frozenset[int]] = {}

    def days_of(year: int, number: int) -> frozenset[int]:
        first = date(year, number, 1)
        shape = (number, first.weekday(), monthrange(year, number)[1])
        if shape not in shapes:
            walk, found = croniter(expression, datetime.combine(first, time()) - TICK), set()
            try:
                while (day := walk.get_next(datetime).date()).replace(day=1) == first:
                    found.add(day.day)
            except CroniterBadDateError:  # no further day within croniter's reach
                pass
            shapes[shape] = frozenset(found)
        return shapes[shape]

    return lambda day: day.day in days_of(day.year, day.month)


def keeps_no_slot(schedule: CronSchedule) -> bool:
    """The trigger's conditions keep none of the cron's slots over one whole calendar cycle (from a
    DateTimeBetween's `after`, or up to its `before`): then they never will."""
    rule = schedule.rule
    if rule is None:
        return False
    if rule.by_day:  # day by day, without a zone: a day the cron fires on and the conditions keep
        _, matches = _expand(schedule)
        day, last = date(2000, 1, 1), date(2000, 1, 1) + CONDITIONS_CYCLE
        while day < last:
            if matches(day):
                return False
            day += timedelta(days=1)
        return True
    low = rule.after if rule.after is not None else (rule.before or CYCLE_END) - CONDITIONS_CYCLE
    return next(_pieces(schedule, low, low + CONDITIONS_CYCLE), None) is None


def count_slots(schedule: CronSchedule, start: datetime, end: datetime) -> int:
    """The number of slots with start <= slot <= end: the same slots CronSchedule.slots gives."""
    if end < start:
        return 0
    return sum(piece[0] for piece in _pieces(schedule, start.astimezone(UTC), end.astimezone(UTC)))


def nth_slot(schedule: CronSchedule, start: datetime, end: datetime, index: int) -> datetime | None:
    """The slot at `index` (0 is the first) of those with start <= slot <= end, in UTC, or None when there
    are not that many: found as they are counted, so a page deep in a long range costs no stepping."""
    if end < start or index < 0:
        return None
    times, _ = _expand(schedule)
    for count, where, first, offset in _pieces(schedule, start.astimezone(UTC), end.astimezone(UTC)):
        if index < count:
            if first is None:  # the end of a gap
                return where
            if isinstance(where, _WholeDays):  # the day the index falls on, then its time of day
                where, index = where.day(index // times.per_day), index % times.per_day
            return (datetime.combine(where, times.nth_from(first, index)) - offset).replace(tzinfo=UTC)
        index -= count
    return None


class _WholeDays(NamedTuple):
    """The matching days of one local month, each holding every time of day (a piece of _pieces)."""

    month: date  # its first day
    days: tuple[int, ...]  # the matching days' numbers

    def day(self, n: int) -> date:
        return self.month.replace(day=self.days[n])


class _MonthShapes:
    """Which days of a month a cron with no conditions matches depends only on the month's number, the weekday of
    its first day and its length: found once per such shape (at most 168), so a long span is counted a month at a
    time rather than a day at a time."""

    def __init__(self, matches):
        self.matches = matches
        self.shapes: dict[tuple[int, int, int], tuple[int, ...]] = {}

    def of(self, month: date) -> _WholeDays:
        length = monthrange(month.year, month.month)[1]
        shape = (month.month, month.weekday(), length)
        if shape not in self.shapes:
            self.shapes[shape] = tuple(n for n in range(1, length + 1) if self.matches(month.replace(day=n)))
        return _WholeDays(month, self.shapes[shape])


def _pieces(schedule: CronSchedule, start: datetime, end: datetime):
    """The range's slots in order, in pieces (count, local day, first time of day, offset) for a local day of
    a span between offset changes, (count, _WholeDays, midnight, offset) for the whole local months inside such a
    span when the trigger has no conditions, or (1, instant, None, None) for the first instant after a gap."""
    zone = schedule.zone
    times, matches = _expand(schedule)
    rule = schedule.rule
    months = _MonthShapes(matches) if rule is None else None
    if rule is not None and rule.after is not None:  # a DateTimeBetween clamps the range (its bounds excluded)
        start = max(start, rule.after + TICK)
    if rule is not None and rule.before is not None:
        end = min(end, rule.before - TICK)
    if end < start:
        return
    low = start
    for change, before, after in offset_changes(zone, start - SCAN, end):
        if change < start:  # a start inside a fall-back's repeated pass
            if after < before and schedule.fixed_hour:
                low = max(low, change + (before - after))
            continue
        yield from _span(times, matches, rule, months, zone, low, change - TICK)
        low = change
        if after > before:  # a gap: its end is where croniter puts the local times it skipped
            if schedule.slot_at_gap_end(change):
                yield 1, change, None, None
            low = change + TICK
        elif schedule.fixed_hour:  # a fall-back: a fixed-hour job ran in the first pass, not the repeated one
            low = change + (before - after)
    yield from _span(times, matches, rule, months, zone, low, end)


def _span(
    times: _TimesOfDay,
    matches,
    rule: SlotRule | None,
    months: _MonthShapes | None,
    zone,
    low: datetime,
    high: datetime,
):
    """The matching local days between two instants with no offset change between them (one instant per
    local time), as pieces of _pieces; with `months` (no conditions), each whole month inside as one piece."""
    if high < low:
        return
    low_local, high_local = low.astimezone(zone), high.astimezone(zone)
    offset = low_local.utcoffset() or timedelta(0)
    low_wall, high_wall = low_local.replace(tzinfo=None), high_local.replace(tzinfo=None)
    if low_wall.microsecond:
        low_wall = low_wall.replace(microsecond=0) + timedelta(seconds=1)
    high_wall = high_wall.replace(microsecond=0)
    day, first_day, last_day = low_wall.date(), low_wall.date(), high_wall.date()
    while day <= last_day:
        if months is not None and day.day == 1 and day > first_day:
            month_end = day.replace(day=monthrange(day.year, day.month)[1])
            if month_end < last_day:  # a whole month: every time of day of each matching day
                whole = months.of(day)
                if whole.days:
                    yield len(whole.days) * times.per_day, whole, time(), offset
                day = month_end + timedelta(days=1)
                continue
        if matches(day):
            first = low_wall.time() if day == low_wall.date() else time()
            last = high_wall.time() if day == high_wall.date() else time(23, 59, 59)
            for low_kept, high_kept in WHOLE if rule is None else rule.kept(day, offset):
                kept_first, kept_last = max(first, _time_of(low_kept)), min(last, _time_of(high_kept))
                count = times.between(kept_first, kept_last)
                if count:
                    yield count, day, kept_first, offset
        day += timedelta(days=1)


def _time_of(second: int) -> time:
    hours, rest = divmod(second, 3600)
    return time(hours, *divmod(rest, 60))
