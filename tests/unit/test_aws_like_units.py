"""The AWS-like bench counts capacity units as DynamoDB charges them (bench/fake_aws/units.py): a figure the
issue's "at most 10 write units per slot" is judged by."""

from bench.fake_aws import units

SHAPE = units.TableShape(
    ("pk", "sk"),
    (
        units.Index("Everything", ("running", "pk"), "ALL"),
        units.Index("KeysOnly", ("backfillId",), "KEYS_ONLY"),
        units.Index("StateOnly", ("gsi2pk", "gsi2sk"), "INCLUDE", ("state",)),
    ),
)


def item(**extra) -> dict:
    return {"pk": {"S": "p"}, "sk": {"S": "s"}, **{k: {"S": v} for k, v in extra.items()}}


def test_item_size_is_names_plus_values():
    assert units.item_size(item()) == len("pk") + 1 + len("sk") + 1
    assert units.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes, plus 1
    assert units.item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + 1 + 1 + 2
    assert units.item_size({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 2 * (1 + 1)


def test_a_new_item_on_no_index_costs_one_unit_per_kilobyte():
    assert units.item_write(SHAPE, None, item(body="x" * 10), True, 1).write == 1
    assert units.item_write(SHAPE, None, item(body="x" * 2000), True, 1).write == 2
    assert units.item_write(SHAPE, None, item(body="x" * 2000), True, 1).index_write == 0


def test_an_update_costs_the_larger_image_and_each_index_it_changes():
    before = item(running="yes", backfillId="b", body="x" * 1500)
    after = item(running="yes", backfillId="b", body="x" * 10)
    used = units.item_write(SHAPE, before, after, True, 1)
    assert used.write == 2  # the item before was the larger, 2 KB
    assert used.by_index == {"Everything": 1}  # KEYS_ONLY's projection did not change: not written


def test_an_index_key_that_changes_is_a_delete_and_a_put():
    used = units.item_write(SHAPE, item(running="a"), item(running="b"), True, 1)
    assert used.by_index == {"Everything": 2}


def test_an_item_leaving_a_sparse_index_is_one_write_and_one_never_in_it_none():
    used = units.item_write(SHAPE, item(running="a", state="x"), item(state="y"), True, 1)
    assert used.by_index == {"Everything": 1}


def test_a_failed_condition_costs_the_item_found_and_no_index():
    used = units.item_write(SHAPE, item(running="a", body="x" * 3000), None, False, 1)
    assert (used.write, used.index_write) == (3, 0)
    assert units.item_write(SHAPE, None, None, False, 1).write == 1


def test_a_transaction_doubles_the_table_write():
    assert units.item_write(SHAPE, None, item(), True, 2).write == 2


def test_reads_round_up_to_four_kilobytes_half_when_eventually_consistent():
    assert units.read([0], consistent=False) == 0.5
    assert units.read([5000], consistent=True) == 2
    assert units.read([100, 100], consistent=False) == 1.0  # each item apart
    assert units.query([100, 100], consistent=False) == 0.5  # a query's items added first
