"""A backfill as people and the API read it: its spec and its progress, with each slot named by its date."""

from backfill_core.backfills.model import Backfill, BackfillSpec, InflightSlot
from backfill_core.backfills.progress import Progress, settled_status
from backfill_core.backfills.state_machine import schedule_of
from backfill_core.schedules.kestra_time import storage_key


def backfill_view(spec: BackfillSpec, progress: Progress) -> Backfill:
    schedule = schedule_of(spec)

    def date_of(position: int):
        found = spec.order.nth(schedule, spec.start, spec.end, position)
        if found is None:
            raise ValueError(f"backfill {spec.id} has no slot at position {position}")
        return found

    inflight = {
        storage_key(date_of(slot.position)): InflightSlot(state=slot.state, since=progress.updated, round=slot.round)
        for slot in progress.in_flight
    }
    return Backfill(
        **dict(spec),
        concurrency=progress.concurrency,
        max_slots_per_minute=progress.max_slots_per_minute,
        cursor=date_of(progress.cursor) if progress.cursor < spec.total and progress.stored_running else None,
        retry=[storage_key(date_of(position)) for position in progress.retry],
        round=progress.round,
        paused=progress.paused,
        pause_reason=progress.pause_reason,
        failures_seen=progress.failures_seen,
        kill=progress.kill,
        trigger_disabled=progress.trigger_disabled,
        window_closed=progress.window_closed,
        yielding_since=progress.yielding_since,
        status=settled_status(progress),
        inflight=inflight,
        dispatched=progress.dispatched,
        succeeded=progress.succeeded,
        failed=progress.failed,
        skipped=progress.skipped,
        cancelled=progress.cancelled,
        updated=progress.updated,
    )
