"""Kestra's `sort` on searches: fields in order of significance, both list forms, missing values last."""

from dataclasses import dataclass

import pytest

from backfill_core.errors import Invalid
from backfill_core.kestra_api.listings import sorted_by


@dataclass
class Row:
    name: str
    due: int | None


FIELDS = {"name": lambda r: r.name, "due": lambda r: r.due}
ROWS = [Row("b", 2), Row("a", None), Row("c", 2), Row("a", 1)]


def names(rows):
    return [(r.name, r.due) for r in rows]


def test_the_first_field_is_the_most_significant_and_both_list_forms_agree():
    expected = [("b", 2), ("c", 2), ("a", 1), ("a", None)]
    assert names(sorted_by(ROWS, ["due:desc", "name:asc"], FIELDS)) == expected
    assert names(sorted_by(ROWS, ["due:desc,name:asc"], FIELDS)) == expected  # kestrapy's explode: false


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_missing_value_sorts_last_either_way(direction):
    assert names(sorted_by(ROWS, [f"due:{direction}"], FIELDS))[-1] == ("a", None)


def test_without_sort_the_order_is_kept_and_an_unknown_field_or_direction_is_refused():
    assert sorted_by(ROWS, None, FIELDS) == ROWS
    with pytest.raises(Invalid, match="sort: 'size' is not sortable"):
        sorted_by(ROWS, ["size:asc"], FIELDS)
    with pytest.raises(Invalid, match="sort: 'name:up'"):
        sorted_by(ROWS, ["name:up"], FIELDS)
