"""Every route of Kestra's published OpenAPI documents (1.3 and 2.0) beside ours: served as Kestra, served with a
stated difference, or not served and why (tests/kestra_route_reasons.py). The README's "Kestra's routes" holds
the tables between two markers: `python -m tests.kestra_route_table` prints them, `--write` (`make routes`)
rewrites them, and tests/unit/test_kestra_route_table.py fails when the README is out of date."""

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.integration.test_openapi import declared_routes
from tests.kestra_route_reasons import DIFFERENCES, REFUSED_PARAMETERS, TAG_REASONS, route_reason
from tests.kestra_routes import kestra_operations, twins
from tests.kestra_schemas import VERSIONS, document

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- kestra-routes: written by `make routes` (tests/kestra_route_table.py), not by hand -->"
END = "<!-- kestra-routes: end -->"
SERVED, DIFFERS, NOT_SERVED = "served as Kestra", "served with a difference", "not served"
STATUSES = (SERVED, DIFFERS, NOT_SERVED)
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Row:
    tag: str
    method: str
    route: str  # Kestra's path below /api/v1 and the tenant
    versions: tuple[str, ...]
    status: str
    note: str  # the difference, or why it is not served; empty when served as Kestra

    def sort_key(self) -> tuple[str, int]:
        return self.route, METHOD_ORDER.index(self.method)


def served_routes() -> set[tuple[str, str]]:
    """(METHOD, Kestra's route) of every one of Kestra's operations that one of our routes answers."""
    return {(twin.method.upper(), twin.route) for method, route in declared_routes() for twin in twins(method, route)}


def operation_counts() -> dict[str, int]:
    return {version: len(kestra_operations(version)) for version in VERSIONS}


def rows() -> list[Row]:
    """One row a route (method and path) of either version; its tag is the first the documents give it."""
    found: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for version in VERSIONS:
        for operation in kestra_operations(version):
            _, versions = found.setdefault((operation.method.upper(), operation.route), (operation.tag, []))
            if version not in versions:
                versions.append(version)
    served = served_routes()
    return sorted((_row(key, tag, tuple(versions), served) for key, (tag, versions) in found.items()), key=Row.sort_key)


def _row(key: tuple[str, str], tag: str, versions: tuple[str, ...], served: set[tuple[str, str]]) -> Row:
    method, route = key
    if key in served:
        difference = "; ".join(filter(None, (DIFFERENCES.get(key), _refused(key, versions))))
        return Row(tag, method, route, versions, DIFFERS if difference else SERVED, difference)
    reason = route_reason(method, route) or TAG_REASONS.get(tag)
    if reason is None:
        raise LookupError(f"{method} {route} ({tag}): not served, and no reason says why")
    taken_by = [f"`{method} {ours}`" for ours in sorted(route for verb, route in shadows(method, route))]
    if taken_by:
        reason += f"; its path reaches our {', '.join(taken_by)}"
    return Row(tag, method, route, versions, NOT_SERVED, reason)


def _refused(key: tuple[str, str], versions: tuple[str, ...]) -> str:
    """Kestra's query parameters this route refuses, each with its version when not in all of them."""
    names = [f"`{name}`{_only_in(key, name, versions)}" for name in REFUSED_PARAMETERS.get(key, ())]
    return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} refused (`422`)" if names else ""


def _only_in(key: tuple[str, str], name: str, versions: tuple[str, ...]) -> str:
    having = [version for version in versions if name in query_parameters(version, *key)]
    return "" if having == list(versions) else f" ({', '.join(having)})"


def query_parameters(version: str, method: str, route: str) -> set[str]:
    """The query parameters Kestra's document of that version gives the route (with or without the tenant)."""
    return {
        parameter["name"]
        for operation in kestra_operations(version)
        if (operation.method.upper(), operation.route) == (method, route)
        for parameter in document(version)["paths"][operation.path][operation.method].get("parameters", [])
        if parameter["in"] == "query"
    }


def shadows(method: str, kestra_route: str) -> set[tuple[str, str]]:
    """Our routes that a call to this route of Kestra's reaches, a parameter of ours taking a literal of Kestra's
    (GET /flows/source reads as the flows of a namespace called "source")."""
    kestra_parts = kestra_route.strip("/").split("/")

    def takes(our_route: str) -> bool:
        our_parts = our_route.strip("/").split("/")
        return len(our_parts) == len(kestra_parts) and all(
            our.startswith("{") or our == kestra for our, kestra in zip(our_parts, kestra_parts, strict=True)
        )

    return {(verb, route) for verb, route in declared_routes() if verb.upper() == method and takes(route)}


def counts(table: list[Row], version: str) -> Counter[str]:
    return Counter(row.status for row in table if version in row.versions)


def by_tag(table: list[Row]) -> dict[str, list[Row]]:
    """The tags with routes served first, most served first, then the others by name."""
    tags: dict[str, list[Row]] = {}
    for row in table:
        tags.setdefault(row.tag, []).append(row)

    def order(tag: str) -> tuple[int, str]:
        return -sum(row.status != NOT_SERVED for row in tags[tag]), tag.lower()

    return {tag: tags[tag] for tag in sorted(tags, key=order)}


def _pair(table: list[Row], status: str | None = None) -> str:
    return " / ".join(
        str(sum(version in row.versions and status in (None, row.status) for row in table)) for version in VERSIONS
    )


def _why_not(rows_of_tag: list[Row]) -> str:
    reasons = {row.note for row in rows_of_tag if row.status == NOT_SERVED}
    return reasons.pop() if len(reasons) == 1 else ("by route, below" if reasons else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(table: list[Row]) -> str:
    operations = operation_counts()
    lines = [BEGIN, ""]
    for version in VERSIONS:
        found = counts(table, version)
        lines.append(
            f"- Kestra {version}: {sum(found.values())} routes ({operations[version]} operations): "
            + ", ".join(f"{found[status]} {status}" for status in STATUSES)
        )
    tags = by_tag(table)
    lines += ["", "| Kestra's tag | Routes | Served as Kestra | With a difference | Not served | Why not served |"]
    lines += ["|---|---|---|---|---|---|"]
    for tag, rows_of_tag in tags.items():
        pairs = " | ".join(_pair(rows_of_tag, status) for status in STATUSES)
        lines.append(f"| {tag} | {_pair(rows_of_tag)} | {pairs} | {_cell(_why_not(rows_of_tag))} |")
    lines.append(f"| **all** | {_pair(table)} | " + " | ".join(_pair(table, status) for status in STATUSES) + " | |")
    lines.append("")
    for tag, rows_of_tag in tags.items():
        found = Counter(row.status for row in rows_of_tag)
        summary = ", ".join(f"{found[status]} {status}" for status in STATUSES if found[status])
        lines += [f"<details><summary>{tag}: {summary}</summary>", ""]
        lines += ["| Method | Path | In | Status | Difference or reason |", "|---|---|---|---|---|"]
        for row in rows_of_tag:
            where = ", ".join(row.versions)
            lines.append(f"| {row.method} | `{row.route}` | {where} | {row.status} | {_cell(row.note)} |")
        lines += ["", "</details>", ""]
    return "\n".join([*lines[:-1], END]) + "\n"


def readme_block(text: str) -> str:
    """The README's part between the markers, both included."""
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    return text[start:end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's block instead of printing it")
    block = render(rows())
    if not parser.parse_args().write:
        print(block, end="")
        return
    text = README.read_text()
    README.write_text(text.replace(readme_block(text), block))


if __name__ == "__main__":
    main()
