"""Flows stored before the trigger list, its count and the due index existed (storage/trigger_listing,
due_triggers): the scheduler lists and counts their triggers and puts their Schedule ones due at once, a page of the
flows table at a time within the time its invocation has left, remembering where it got to, until all are; then one
read a tick. Each flow's triggers are listed only while it is as read (a flow saved or deleted since listed or
unlisted them itself); those listed and counted already are left as they are.

A stored flow that no longer validates has its triggers' ids read from its YAML, their types unknown: each is put
due, and the tick takes it out of the index again until a valid revision is stored."""

from collections.abc import Callable

from botocore.exceptions import ClientError

from backfill_core.storage import flows_repository, trigger_listing
from backfill_core.storage.conditions import condition_failed

RESERVE_SECONDS = 20.0  # left to the tick and the watchdogs of the same invocation


def list_stored_flows(seconds_left: Callable[[], float]) -> bool:
    """Carry on listing while more than RESERVE_SECONDS are left; whether every stored flow is listed."""
    done, after = trigger_listing.migration()
    while not done and seconds_left() > RESERVE_SECONDS:
        flows, after = flows_repository.flows_page(after)
        for stored in flows:
            flow = stored.flow
            declared = {}
            for trigger_id in stored.trigger_ids:
                trigger = flow.trigger(trigger_id) if flow is not None else None
                declared[trigger_id] = trigger is None or trigger.is_schedule
            try:
                trigger_listing.write_with_triggers(
                    flows_repository.unchanged(stored), stored.trigger_key, declared, relisting=True
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise  # else the flow was saved or deleted since the page was read: that write listed it
        trigger_listing.migrated_to(after)
        done = after is None
    return done
