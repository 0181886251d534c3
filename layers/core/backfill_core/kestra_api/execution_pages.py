"""A page of the execution search in start-date order, found on the ByFlowStart index's keys (storage/
executions_search), reading executions only for the page.

- One flow (namespace and flowId, as parameters or EQUALS filters): its keys are read in order from the index,
  between the start dates the search bounds (startDate, endDate and timeRange filters on the start date, the
  startDate parameter), as far as the page's end; a search of a namespace or a tenant reads its keys whole
  (small: about 10,000 a Query) and orders them by start date.
- What a key holds (namespace, flow id, id, start date) is filtered on the keys. A filter on what only the
  execution holds (state, labels, endDate, kind, ...) reads executions in order, a batch at a time, until the
  page is full: a page costs what it takes to find its matches, never more than reading the flow whole.
- `total` is exact when the search saw every match: a namespace's or tenant's keys (no filter needing the
  executions), the end of the flow reached, or, when the index's range says every key matches, the keys
  after the page counted (Select COUNT) up to TOTAL_LOOKAHEAD. Otherwise it is the matches found so far,
  which is more than the page's end: at least one more page is there, and each page asked for further on
  tells more (README, "Watch it").
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby, islice

from backfill_core.flows.execution import Execution
from backfill_core.flows.execution_key import ExecutionKey
from backfill_core.flows.model import in_namespace
from backfill_core.kestra_api.filter_fields import KESTRA_STATES, DateFilter, Op
from backfill_core.kestra_api.filters import DATE, Filter, FilterGroup, QueryFilter, duration, matches
from backfill_core.schedules.kestra_time import storage_key
from backfill_core.storage import batches, executions_search
from backfill_core.storage.executions_search import LAST, flow_prefix

TOTAL_LOOKAHEAD = 5000  # keys counted past the page for an exact total (one Query at most: keys are ~100 B)
KEY_FIELDS = ("q", "scope", "namespace", "flowId")  # what the index's keys hold
DATE_FIELDS = ("startDate", "endDate", "timeRange")  # on the keys when they bound the start date
BOUNDS = (Op.GREATER_THAN_OR_EQUAL_TO, Op.GREATER_THAN, Op.LESS_THAN_OR_EQUAL_TO, Op.LESS_THAN)
AFTER = "$"  # sorts after the `#` that follows a start date in a key, before any later date


@dataclass(frozen=True)
class Where:
    """What a search asks that the keys can tell: the legacy namespace (a prefix of whole segments), flow id and
    earliest start, Kestra's filters, which date they bound, and the time `timeRange` counts back from."""

    namespace: str | None
    flow_id: str | None
    started_from: datetime | None
    filters: Sequence[Filter]
    date_filter: DateFilter
    at: datetime
    states: Sequence[str] = ()  # the legacy `state`: any of these

    def allowed_states(self) -> frozenset[str] | None:
        """The states an execution may be in to match, from the `state` parameter and filters; None: any."""
        allowed = set(self.states or KESTRA_STATES)
        for one in self.filters:
            if isinstance(one, QueryFilter) and one.field == "state":
                if one.operation in (Op.EQUALS, Op.IN):
                    allowed &= set(one.values)
                else:
                    allowed -= set(one.values)
        return None if allowed >= KESTRA_STATES else frozenset(allowed)

    def on_keys(self, one: Filter) -> bool:
        if isinstance(one, FilterGroup):
            return all(self.on_keys(child) for child in one.children)
        return one.field in KEY_FIELDS or (one.field in DATE_FIELDS and self.date_filter is DateFilter.START_DATE)

    def equals(self, field: str) -> QueryFilter | None:
        found = [f for f in self.filters if isinstance(f, QueryFilter) and f.field == field]
        return next((f for f in found if f.operation is Op.EQUALS), None)

    def flow(self) -> tuple[tuple[str, str], list[Filter]] | None:
        """The one flow the search is within (the namespace given exactly), and the filters that said so; none
        when a name holds the `#` that parts a key (no flow's does: such a name matches nothing, on the keys)."""
        namespace, flow = self.equals("namespace"), self.equals("flowId")
        used: list[Filter] = [f for f in (namespace, flow) if f is not None]
        name = str(namespace.value) if namespace else (self.namespace if self.flow_id else None)
        flow_id = str(flow.value) if flow else self.flow_id
        if not name or not flow_id or "#" in name + flow_id:
            return None
        return (name, flow_id), used

    def holds(self, key: ExecutionKey, filters: Iterable[Filter]) -> bool:
        """The legacy parameters and the filters on what the key holds."""
        if self.namespace and not in_namespace(key.namespace, self.namespace):
            return False
        if (self.flow_id and key.flow_id != self.flow_id) or (self.started_from and key.start_date < self.started_from):
            return False
        return matches(list(filters), lambda one: self._key_holds(key, one))

    def _key_holds(self, key: ExecutionKey, one: QueryFilter) -> bool:
        match one.field:
            case "q":
                return one.query(key.id, key.namespace, key.flow_id)
            case "scope":
                return one.scope(key.namespace)
            case "namespace":
                return one.text(key.namespace)
            case "flowId":
                return one.text(key.flow_id)
            case "startDate" | "endDate":
                return one.date(key.start_date)
        return key.start_date >= self.at - duration(one.key, str(one.value))  # timeRange

    def bounds(self, prefix: str) -> tuple[str, str, list[Filter]]:
        """The range of a flow's sort keys the start-date bounds allow, and the filters that range says."""
        low, high, used = prefix, prefix + LAST, list[Filter]()
        if self.started_from:
            low = max(low, prefix + storage_key(self.started_from))
        for one in self.filters if self.date_filter is DateFilter.START_DATE else ():
            if not isinstance(one, QueryFilter) or one.field not in DATE_FIELDS:
                continue
            if one.field == "timeRange":
                low = max(low, prefix + storage_key(self.at - duration(one.key, str(one.value))))
            elif one.operation in BOUNDS:
                date = prefix + storage_key(DATE.validate_python(one.value))
                match one.operation:
                    case Op.GREATER_THAN_OR_EQUAL_TO:
                        low = max(low, date)
                    case Op.GREATER_THAN:
                        low = max(low, date + AFTER)
                    case Op.LESS_THAN_OR_EQUAL_TO:
                        high = min(high, date + AFTER)
                    case Op.LESS_THAN:
                        high = min(high, date)
            else:
                continue
            used.append(one)
        return low, high, used


class Reading:
    """Keys as they are read from the index: how many so far, and the last."""

    def __init__(self, keys: Iterable[ExecutionKey]):
        self.keys, self.read = keys, 0
        self.last: ExecutionKey | None = None

    def __iter__(self) -> Iterator[ExecutionKey]:
        for key in self.keys:
            self.read, self.last = self.read + 1, key
            yield key


def in_order(keys: Iterable[ExecutionKey]) -> Iterator[ExecutionKey]:
    """Keys already in start order, those started at the same instant by id (the search's last tie-breaker)."""
    for _, tied in groupby(keys, key=lambda key: key.start_date):
        yield from sorted(tied, key=lambda key: key.id)


def page(
    tenant: str,
    where: Where,
    newest_first: bool,
    number: int,
    size: int,
    keeps: Callable[[Execution], bool],
    by_start_only: bool,
) -> tuple[list[Execution], int]:
    """Page `number` of the executions `keeps` keeps, in start order, and the total (the module says which)."""
    skip, end = (number - 1) * size, number * size
    flow = where.flow()
    reading: Reading | None = None
    if flow is not None:
        (namespace, flow_id), used = flow
        low, high, bounded = where.bounds(flow_prefix(namespace, flow_id))
        if low > high:
            return [], 0
        used += bounded
        reading = Reading(executions_search.flow_keys(tenant, low, high, newest_first, chunk=min(end + 2, 5000)))
        keys: Iterator[ExecutionKey] = in_order(reading)
    else:
        used = []
        every = executions_search.namespace_keys(tenant, where.namespace, where.flow_id)
        every.sort(key=lambda key: key.id)
        every.sort(key=lambda key: key.start_date, reverse=newest_first)
        keys = iter(every)
    on_keys = [one for one in where.filters if where.on_keys(one) and not any(one is u for u in used)]
    candidates = (key for key in keys if where.holds(key, on_keys))
    if not by_start_only or not all(where.on_keys(one) for one in where.filters):
        return _examined(candidates, keeps, skip, end, where.allowed_states())
    taken = list(islice(candidates, end + 1))  # one more tells whether any follow
    found = executions_search.executions([key.id for key in taken[skip:end]])
    if len(taken) <= end:
        return found, len(taken)
    if reading is None:  # a namespace's keys are all read: the rest counted
        return found, len(taken) + sum(1 for _ in candidates)
    if on_keys or reading.last is None:  # matches found so far: a lower bound
        return found, len(taken)
    after = executions_search.count_after(tenant, reading.last, low, high, newest_first, TOTAL_LOOKAHEAD)
    return found, reading.read + (TOTAL_LOOKAHEAD if after is None else after)


def _examined(
    candidates: Iterator[ExecutionKey],
    keeps: Callable[[Execution], bool],
    skip: int,
    end: int,
    states: frozenset[str] | None,
) -> tuple[list[Execution], int]:
    """Executions read in order, a batch at a time, until one more than the page's end is kept; those in none
    of `states` are left out before they are read whole."""
    matched: list[Execution] = []
    batch = min(end + 1, batches.BATCH_GET_KEYS)
    while len(matched) <= end:
        keys = list(islice(candidates, batch))
        if not keys:
            break
        matched += [e for e in executions_search.executions([key.id for key in keys], states) if keeps(e)]
        batch = min(batch * 2, batches.BATCH_GET_KEYS)
    return matched[skip:end], len(matched)
