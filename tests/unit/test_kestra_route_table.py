"""The README's table of Kestra's routes (API, "Kestra's routes") against what it is written from: the routes we
declare, Kestra's OpenAPI documents and the differences and reasons of tests/kestra_route_reasons.py."""

import re

import pytest

from tests import kestra_route_table as table
from tests.integration.test_openapi import declared_routes
from tests.kestra_route_reasons import DIFFERENCES, REFUSED_PARAMETERS, ROUTE_REASONS, TAG_REASONS
from tests.kestra_routes import kestra_operations, twins
from tests.kestra_schemas import VERSIONS


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str], table.Row]:
    return {(row.method, row.route): row for row in table.rows()}


def test_the_readme_shows_the_table_as_written_from_the_routes(rows):
    written = table.render(sorted(rows.values(), key=table.Row.sort_key))
    assert table.readme_block(table.README.read_text()) == written, "out of date: run `make routes`"


def test_the_readme_gives_the_counts_of_kestras_documents(rows):
    operations = table.operation_counts()
    routes = {version: sum(version in row.versions for row in rows.values()) for version in VERSIONS}
    said = re.search(r"Kestra's (\d+) and (\d+) operations are (\d+) and (\d+) routes", table.README.read_text())
    assert said, "the README's Kestra's routes no longer give the counts of Kestra's documents"
    assert [int(count) for count in said.groups()] == [*operations.values(), *routes.values()]


def test_every_route_of_ours_with_a_kestra_twin_is_served(rows):
    for method, route in declared_routes():
        for twin in twins(method, route):
            assert rows[(twin.method.upper(), twin.route)].status != table.NOT_SERVED, (method, route, twin.path)


def test_every_kestra_operation_is_classified_with_its_reason(rows):
    for version in VERSIONS:
        for operation in kestra_operations(version):
            row = rows[(operation.method.upper(), operation.route)]
            assert version in row.versions
            assert row.status in table.STATUSES
            assert bool(row.note) == (row.status != table.SERVED), row


def test_a_difference_is_stated_only_for_a_route_we_serve(rows):
    for key, difference in DIFFERENCES.items():
        assert key in rows, f"{key}: no such route of Kestra's"
        assert rows[key].status == table.DIFFERS and rows[key].note.startswith(difference), rows[key]
    for key, names in REFUSED_PARAMETERS.items():
        assert rows[key].status == table.DIFFERS and all(f"`{name}`" in rows[key].note for name in names), rows[key]


def test_every_reason_explains_a_route_not_served(rows):
    """No reason is left that decides no route: each pattern is the first to match one route not served."""
    patterns = [pattern for pattern, _ in ROUTE_REASONS]
    deciding = {
        next((pattern for pattern in patterns if re.fullmatch(pattern, f"{row.method} {row.route}")), None)
        for row in rows.values()
        if row.status == table.NOT_SERVED
    }
    assert [pattern for pattern in patterns if pattern not in deciding] == []
    tags = {row.tag for row in rows.values()}
    assert set(TAG_REASONS) <= tags


def test_a_route_not_served_names_ours_that_its_path_reaches(rows):
    """GET /flows/source is no route of ours, yet its path reaches GET /flows/{namespace} (a namespace "source")."""
    assert rows[("GET", "/flows/source")].status == table.NOT_SERVED
    assert "`GET /flows/{namespace}`" in rows[("GET", "/flows/source")].note
    assert "reaches" not in rows[("GET", "/users")].note
