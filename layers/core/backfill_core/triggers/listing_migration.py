"""Flows stored before the trigger list and the due index existed (storage/trigger_listing, due_triggers): the
scheduler lists their triggers and puts their Schedule ones due at once, a page of the flows table at a time
within the time its invocation has left, remembering where it got to, until all are; then one read a tick.

A stored flow that no longer validates has its triggers' ids read from its YAML, their types unknown: each is put
due, and the tick takes it out of the index again until a valid revision is stored."""

from collections.abc import Callable

from backfill_core.storage import flows_repository, trigger_listing

RESERVE_SECONDS = 20.0  # left to the tick and the watchdogs of the same invocation


def list_stored_flows(seconds_left: Callable[[], float]) -> bool:
    """Carry on listing while more than RESERVE_SECONDS are left; whether every stored flow is listed."""
    done, after = trigger_listing.migration()
    while not done and seconds_left() > RESERVE_SECONDS:
        flows, after = flows_repository.flows_page(after)
        for stored in flows:
            flow = stored.flow
            for trigger_id in stored.trigger_ids:
                trigger = flow.trigger(trigger_id) if flow is not None else None
                trigger_listing.relist(stored.trigger_key(trigger_id), trigger is None or trigger.is_schedule)
        trigger_listing.migrated_to(after)
        done = after is None
    return done
