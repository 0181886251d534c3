"""What the watchdog last saw of a backfill's lanes (pk PROGRESS#<id>, sk WATCH): each lane's code and since when
it has been that, so a slot whose message was lost is known by its lane not moving. Kept apart from the progress
so that the slots' writes stay small; written by the watchdog only."""

from backfill_core.aws_clients import dynamodb
from backfill_core.settings import settings
from backfill_core.storage.backfill_progress import PROGRESS

WATCH = "WATCH"


def _key(backfill_id: str) -> dict:
    return {"pk": {"S": f"{PROGRESS}#{backfill_id}"}, "sk": {"S": WATCH}}


def seen(backfill_id: str) -> dict[int, tuple[int, float]]:
    """lane -> (code, since when, epoch seconds)."""
    found = dynamodb().get_item(TableName=settings().triggers_table, Key=_key(backfill_id)).get("Item")
    if not found:
        return {}
    return {int(lane): (int(pair["L"][0]["N"]), float(pair["L"][1]["N"])) for lane, pair in found["lanes"]["M"].items()}


def keep(backfill_id: str, lanes: dict[int, tuple[int, float]]) -> None:
    item = {
        **_key(backfill_id),
        "lanes": {
            "M": {str(lane): {"L": [{"N": str(code)}, {"N": repr(since)}]} for lane, (code, since) in lanes.items()}
        },
    }
    dynamodb().put_item(TableName=settings().triggers_table, Item=item)
