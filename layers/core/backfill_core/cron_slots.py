"""A Schedule trigger's cron, evaluated in the trigger's timezone: its slots and their neighbours."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


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

    def _walk(self, base: datetime) -> croniter:
        return croniter(self.cron, base.astimezone(self.zone), second_at_beginning=self.with_seconds)

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment`, in the trigger's zone."""
        return self._walk(moment).get_next(datetime)

    def previous_before(self, moment: datetime) -> datetime:
        """The last slot strictly before `moment`, in the trigger's zone."""
        return self._walk(moment).get_prev(datetime)

    def first_at_or_after(self, moment: datetime) -> datetime:
        whole = moment.replace(microsecond=0)
        base = whole if moment.microsecond else whole - timedelta(seconds=1)
        return self.next_after(base)

    def slots(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Up to `limit` slots with start <= slot <= end, oldest first, in UTC."""
        found: list[datetime] = []
        slot = self.first_at_or_after(start)
        while slot <= end and len(found) < limit:
            found.append(slot.astimezone(UTC))
            slot = self.next_after(slot)
        return found

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)
