"""Kestra's query parameters on the routes we serve: each one is declared by our route, or the README's table of
Kestra's routes says it is refused (tests/kestra_route_reasons.REFUSED_PARAMETERS), and nothing more."""

from tests.integration.test_openapi import declared_routes
from tests.kestra_route_reasons import REFUSED_PARAMETERS
from tests.kestra_route_table import query_parameters
from tests.kestra_routes import twins


def test_a_kestra_parameter_we_do_not_take_is_refused_and_said_in_the_route_table(stack):
    ours = stack.call("GET", "/api/v1/openapi.json").body["paths"]
    not_taken: dict[tuple[str, str], set[str]] = {}
    for method, route in declared_routes():
        declared = {parameter["name"] for parameter in ours[route][method].get("parameters", [])}
        for twin in twins(method, route):
            key = (method.upper(), twin.route)
            # filters[...] is read by the routes that take it and refused by the others (README "Query filters").
            if missing := query_parameters(twin.version, *key) - declared - {"filters"}:
                not_taken.setdefault(key, set()).update(missing)
    assert not_taken == {key: set(names) for key, names in REFUSED_PARAMETERS.items()}
