"""Kestra's query filters (0.22+): `filters[field][OPERATION]=value` in the query string, as Kestra's UI and
SDKs send them, parsed once into typed QueryFilters; what each operation means is here, what each field means for
an execution, a trigger, a flow or a log line is in the search that matches it (kestra_api/searches.py,
backfills/queries.py, kestra_api/listings.py, kestra_api/logs.py).

The forms read, as Kestra's own parser reads them:
- `filters[namespace][EQUALS]=a`: one filter; the same key given twice is two filters, both to hold;
- `filters[state][IN]=FAILED,KILLED` (also `[FAILED,KILLED]`): IN and NOT_IN take a comma-separated list;
- `filters[labels][EQUALS][team]=data`: a label, key in the last brackets; labels of one operation gather in one
  filter (EQUALS: every one present; IN: any one; NOT_EQUALS, NOT_IN: none of them);
- `filters[or][0][namespace][EQUALS]=a&filters[or][1][flowId][EQUALS]=b`: groups (kestrapy 2.x), each index an
  AND of its filters, `or`/`and` joining the indexes; at most MAX_DEPTH groups deep.
Filters and a route's own parameters (namespace=, flowId=, ...) all hold together.

Nothing is ignored: a key that is not of these forms, a field or an operation the route does not honour, and a
value the field cannot take are refused (Invalid, naming the key)."""

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from backfill_core.errors import Invalid
from backfill_core.flows.tasks.core import LogLevel
from backfill_core.kestra_api.filter_fields import (
    BOOLEANS,
    CHILD_FILTERS,
    KESTRA_STATES,
    KINDS,
    SCOPES,
    SYSTEM_NAMESPACE,
    TRIGGER_STATES,
    Fields,
    Op,
)

MAX_DEPTH = 2  # groups within groups, as deep as kestrapy sends them
MAX_FILTERS = 50  # filters in one request, groups' included
MAX_REGEX_LENGTH = 200
REGEX_BUDGET_SECONDS = 0.5  # all the matches of one REGEX filter in one request, together

KEY = re.compile(r"filters((?:\[(?:and|or)\]\[\d{1,3}\])*)\[([^\]]*)\]\[([^\]]*)\](?:\[(.+)\])?", re.IGNORECASE)
GROUP = re.compile(r"\[(and|or)\]\[(\d{1,3})\]", re.IGNORECASE)
DATE = TypeAdapter(AwareDatetime)
DURATION = TypeAdapter(timedelta)


class BoundedRegex:
    """A caller's REGEX, which is untrusted: any backtracking engine can be made to run for ever (nested
    quantifiers, `(a+)+$`), so the pattern is at most MAX_REGEX_LENGTH characters, and it is matched by the
    `regex` package with a timeout: every match of the filter in one request shares REGEX_BUDGET_SECONDS, and
    running past them refuses the request (Invalid, naming the filter) rather than answer on part of the data.
    Matching is Kestra's (its SQL regex match): anywhere in the value, case-sensitive."""

    def __init__(self, key: str, pattern: str):
        if len(pattern) > MAX_REGEX_LENGTH:
            raise Invalid(f"{key}: a pattern may be at most {MAX_REGEX_LENGTH} characters")
        # Here, not at the top: only a REGEX filter needs the package (its import is a cold start's few ms).
        import regex  # type: ignore[import-untyped]

        try:
            self.compiled = regex.compile(pattern)
        except regex.error as exc:
            raise Invalid(f"{key}: '{pattern}' is not a regular expression ({exc})") from exc
        self.key = key
        self.spent = 0.0

    def search(self, text: str) -> bool:
        started = time.monotonic()
        try:
            found = self.compiled.search(text, timeout=max(REGEX_BUDGET_SECONDS - self.spent, 0.001))
        except TimeoutError as exc:
            raise Invalid(f"{self.key}: the pattern takes too long to match; simplify it") from exc
        finally:
            self.spent += time.monotonic() - started
        return found is not None


@dataclass(frozen=True)
class QueryFilter:
    """One of Kestra's filters: a field, an operation, and its value (a list for IN and NOT_IN, the labels
    asked for as a map). `key` is how the caller wrote it, for messages."""

    field: str
    operation: Op
    value: str | tuple[str, ...] | Mapping[str, str]
    key: str
    pattern: BoundedRegex | None = None

    @property
    def values(self) -> tuple[str, ...]:
        return self.value if isinstance(self.value, tuple) else (str(self.value),)

    def text(self, candidate: str | None) -> bool:
        """Kestra's operations on a string field; an absent value matches none, as SQL's NULL."""
        if candidate is None:
            return False
        text, value = candidate, str(self.value)
        match self.operation:
            case Op.EQUALS:
                return text == value
            case Op.NOT_EQUALS:
                return text != value
            case Op.IN:
                return text in self.values
            case Op.NOT_IN:
                return text not in self.values
            case Op.CONTAINS:
                return value in text
            case Op.STARTS_WITH:
                return text.startswith(value)
            case Op.ENDS_WITH:
                return text.endswith(value)
            case Op.PREFIX:  # the namespace itself and those below it
                return text == value or text.startswith(value + ".")
            case Op.REGEX:
                assert self.pattern is not None
                return self.pattern.search(text)
        raise Invalid(f"{self.key}: not supported")

    def one_of(self, candidate: str) -> bool:
        """EQUALS and IN: the value is one of those asked; NOT_EQUALS and NOT_IN: it is none of them."""
        return (candidate in self.values) == (self.operation in (Op.EQUALS, Op.IN))

    def query(self, *texts: str) -> bool:
        """Kestra's `q`: found in any of the texts, in any case (EQUALS), or in none (NOT_EQUALS)."""
        needle = str(self.value).lower()
        return any(needle in text.lower() for text in texts) == (self.operation is Op.EQUALS)

    def scope(self, namespace: str) -> bool:
        """Kestra's scope: SYSTEM is the system flows' namespace, USER every other one."""
        return self.one_of("SYSTEM" if namespace == SYSTEM_NAMESPACE else "USER")

    def date(self, candidate: datetime | None) -> bool:
        """Kestra's comparisons of a date; an absent date (not started, not ended) matches none."""
        if candidate is None:
            return False
        bound = DATE.validate_python(self.value)
        match self.operation:
            case Op.GREATER_THAN:
                return candidate > bound
            case Op.GREATER_THAN_OR_EQUAL_TO:
                return candidate >= bound
            case Op.LESS_THAN:
                return candidate < bound
            case Op.LESS_THAN_OR_EQUAL_TO:
                return candidate <= bound
            case Op.EQUALS:
                return candidate == bound
            case Op.NOT_EQUALS:
                return candidate != bound
        raise Invalid(f"{self.key}: not supported")

    def labels(self, labels: Iterable[tuple[str, str]]) -> bool:
        """Kestra's label filters: a map (EQUALS: all of it; IN: any; NOT_EQUALS, NOT_IN: none), or with
        CONTAINS a text found in a label's key or value, in any case."""
        present = set(labels)
        if self.operation is Op.CONTAINS:
            needle = str(self.value).lower()
            return any(needle in key.lower() or needle in value.lower() for key, value in present)
        assert isinstance(self.value, Mapping)
        wanted = [(key, value) in present for key, value in self.value.items()]
        match self.operation:
            case Op.EQUALS:
                return all(wanted)
            case Op.IN:
                return any(wanted)
            case Op.NOT_EQUALS | Op.NOT_IN:
                return not any(wanted)
        raise Invalid(f"{self.key}: not supported")


@dataclass(frozen=True)
class FilterGroup:
    """Filters joined by `and` or `or` (kestrapy 2.x's groups)."""

    logical: Literal["and", "or"]
    children: tuple["QueryFilter | FilterGroup", ...]


Filter = QueryFilter | FilterGroup


def matches(filters: Sequence[Filter], holds: Callable[[QueryFilter], bool]) -> bool:
    """Whether every filter holds, `holds` telling for one QueryFilter what its field means for the item."""
    return all(_holds(one, holds) for one in filters)


def _holds(one: Filter, holds: Callable[[QueryFilter], bool]) -> bool:
    if isinstance(one, QueryFilter):
        return holds(one)
    outcomes = (_holds(child, holds) for child in one.children)
    return any(outcomes) if one.logical == "or" else all(outcomes)


@dataclass
class _Node:
    """One position of the filter tree while it is read: its filters, labels gathered per operation, and groups."""

    leaves: list[QueryFilter] = field(default_factory=list)
    labels: dict[Op, dict[str, str]] = field(default_factory=dict)
    label_keys: dict[Op, str] = field(default_factory=dict)
    groups: dict[tuple[str, int], "_Node"] = field(default_factory=dict)

    def build(self) -> list[Filter]:
        built: list[Filter] = list(self.leaves)
        built += [QueryFilter("labels", op, labels, self.label_keys[op]) for op, labels in self.labels.items()]
        for logical in ("and", "or"):
            slots = [node.build() for (lg, _), node in sorted(self.groups.items()) if lg == logical]
            branches = [s[0] if len(s) == 1 else FilterGroup("and", tuple(s)) for s in slots if s]
            if branches:
                built.append(FilterGroup(logical, tuple(branches)))
        return built


def parse(query: Mapping[str, Sequence[str]] | None, fields: Fields) -> list[Filter]:
    """The filters of a query string (each parameter with its values), checked against the fields a route
    honours; parameters not named filters... are the route's own."""
    root, count = _Node(), 0
    for key, values in (query or {}).items():
        if not key.lower().startswith("filters"):
            continue
        found = KEY.fullmatch(key)
        if not found:
            raise Invalid(f"{key}: not a filter; write filters[field][OPERATION]=value")
        chain, name, operation, nested = found.groups()
        node = root
        groups = GROUP.findall(chain)
        if len(groups) > MAX_DEPTH:
            raise Invalid(f"{key}: filters may be grouped at most {MAX_DEPTH} deep")
        for logical, index in groups:
            node = node.groups.setdefault((logical.lower(), int(index)), _Node())
        for value in values:
            count += 1
            if count > MAX_FILTERS:
                raise Invalid(f"filters: at most {MAX_FILTERS} filters in one request")
            _add(node, key, name, operation, nested, value, fields)
    return root.build()


def _add(node: _Node, key: str, name: str, operation: str, nested: str | None, value: str, fields: Fields) -> None:
    where = f"filters[{name}]"
    if name not in fields:
        raise Invalid(f"{where}: not supported; the fields here are {', '.join(fields)}")
    if operation not in Op.__members__ or Op(operation) not in fields[name]:
        allowed = ", ".join(fields[name])
        raise Invalid(f"{where}[{operation}]: not supported; {name} takes {allowed}")
    op, where = Op(operation), f"{where}[{operation}]"
    if name == "labels" and op is not Op.CONTAINS:
        if nested is None:
            raise Invalid(f"{where}: give the label as {where}[key]=value")
        node.labels.setdefault(op, {})[nested] = value
        node.label_keys.setdefault(op, where)
        return
    if nested is not None:
        raise Invalid(f"{key}: {name} takes no key in brackets")
    typed: str | tuple[str, ...] = value
    if op in (Op.IN, Op.NOT_IN):
        typed = tuple(part.strip() for part in value.replace("[", "").replace("]", "").split(","))
    _check_value(where, name, op, typed)
    pattern = BoundedRegex(where, value) if op is Op.REGEX else None
    node.leaves.append(QueryFilter(name, op, typed, where, pattern))


def _check_value(where: str, name: str, op: Op, value: str | tuple[str, ...]) -> None:
    values = value if isinstance(value, tuple) else (value,)
    allowed = {
        "state": KESTRA_STATES,
        "scope": SCOPES,
        "kind": KINDS,
        "childFilter": CHILD_FILTERS,
        "triggerState": TRIGGER_STATES,
        "level": frozenset(LogLevel),
        "locked": BOOLEANS,
    }.get(name)
    if allowed is not None and (bad := [v for v in values if v not in allowed]):
        raise Invalid(f"{where}: '{bad[0]}' is not one of {', '.join(sorted(allowed))}")
    if name in ("startDate", "endDate", "nextExecutionDate"):
        try:
            DATE.validate_python(value)
        except ValidationError as exc:
            raise Invalid(f"{where}: '{value}' is not a date with its offset (2024-01-31T00:00:00Z)") from exc
    if name == "timeRange":
        duration(where, str(value))
    if op is not Op.REGEX and any(not v for v in values) and name != "q":
        raise Invalid(f"{where}: a value is required")


def duration(where: str, value: str) -> timedelta:
    """Kestra's timeRange: an ISO 8601 duration (PT168H, P7D)."""
    try:
        if not value.upper().startswith("P"):
            raise ValueError(value)
        return DURATION.validate_python(value)
    except (ValueError, ValidationError) as exc:
        raise Invalid(f"{where}: '{value}' is not an ISO 8601 duration (PT24H, P7D)") from exc
