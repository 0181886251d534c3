"""A backfill's create and retry now write the flow's item in their transaction. On AWS two transactions
(or a transaction and a plain write) that touch one item at once cancel one another with TransactionConflict;
botocore does not retry it, so each such write must read again (or answer a 409), never a 500."""

import pytest
from botocore.exceptions import ClientError

from backfill_core.errors import ConcurrentUpdate, Conflict
from backfill_core.flows.model import parse_flow
from backfill_core.storage import batches, flows_repository, trigger_listing
from backfill_core.storage.conditions import condition_failed
from tests.flows import QUICK

STORED_ITEM = {
    "pk": {"S": "main#tests"},
    "sk": {"S": "quick"},
    "tenant": {"S": "main"},
    "source": {"S": QUICK},
    "revision": {"N": "1"},
    "updated": {"S": "2024-01-01T00:00:00.000Z"},
}


def cancelled(*reasons: str) -> ClientError:
    response = {
        "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
        "CancellationReasons": [{"Code": reason} for reason in reasons],
    }
    return ClientError(response, "TransactWriteItems")


def conflict(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "TransactionConflictException", "Message": "busy"}}, operation)


@pytest.mark.parametrize(
    ("reasons", "read_again"),
    [
        (("None", "ConditionalCheckFailed", "None"), True),
        (("None", "None", "TransactionConflict"), True),
        (("ValidationError", "None", "None"), False),
        (("None", "ThrottlingError", "None"), False),
    ],
)
def test_a_transaction_cancelled_by_a_concurrent_one_is_read_again_not_a_server_error(reasons, read_again):
    assert condition_failed(cancelled(*reasons)) is read_again


class FlowsTableBusy:
    """A flows table whose item a backfill's transaction holds: every write to it conflicts."""

    def get_item(self, **_):
        return {"Item": STORED_ITEM}

    def batch_get_item(self, **_):  # the triggers' STATE items, read before they are listed: none yet
        return {"Responses": {}}

    def put_item(self, **_):
        raise conflict("PutItem")

    def transact_write_items(self, **_):  # a revision with triggers is stored with their STATE items
        raise cancelled("TransactionConflict", "None")

    def delete_item(self, **_):
        raise conflict("DeleteItem")


def test_a_flow_update_meeting_a_backfills_transaction_is_a_conflict_not_a_server_error(monkeypatch):
    monkeypatch.setattr(flows_repository, "dynamodb", FlowsTableBusy)
    monkeypatch.setattr(trigger_listing, "dynamodb", FlowsTableBusy)
    monkeypatch.setattr(batches, "dynamodb", FlowsTableBusy)
    with pytest.raises(Conflict, match="updated concurrently"):
        flows_repository.update("main", parse_flow(QUICK), QUICK)


class TriggerItemsBusy(FlowsTableBusy):
    """The flow's item is free, one of its triggers' items keeps being held by another transaction."""

    writes = 0

    def transact_write_items(self, **_):
        TriggerItemsBusy.writes += 1
        raise cancelled("None", "TransactionConflict")


def test_a_flow_update_meeting_transactions_on_its_triggers_items_tries_again_then_is_a_conflict(monkeypatch):
    monkeypatch.setattr(flows_repository, "dynamodb", TriggerItemsBusy)
    monkeypatch.setattr(trigger_listing, "dynamodb", TriggerItemsBusy)
    monkeypatch.setattr(batches, "dynamodb", TriggerItemsBusy)
    with pytest.raises(Conflict, match="triggers of flow tests.quick are changing"):
        flows_repository.update("main", parse_flow(QUICK), QUICK)
    assert TriggerItemsBusy.writes == trigger_listing.LISTING_ATTEMPTS


def test_a_flow_delete_meeting_a_backfills_transaction_reads_the_flow_again(monkeypatch):
    monkeypatch.setattr(flows_repository, "dynamodb", FlowsTableBusy)
    with pytest.raises(ConcurrentUpdate):
        flows_repository.delete(flows_repository.get("main", "tests", "quick"))
