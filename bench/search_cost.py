"""Executions search against history: GET /executions/search of one flow (Kestra's default order, newest
start first, 10 a page), its first and 50th page, with 1,000 and then 100,000 executions of that flow, on
DynamoDB in memory behind botocore with AWS-like latencies (bench/fake_aws: 5 ms a read). And a backfill's slots
page deep in a long range: GET /api/v1/backfills/{id}/slots, pages 1 and 100 at size 100, through the API handler,
of a year of every-minute slots and of 35 years of daily slots in a zone with summer time (the most days counted
to reach page 100: the page's first slot is found by counting the days before it, never by stepping the cron).

    .venv/bin/python -m bench.search_cost [--quick] [--sizes 1000,100000] [--repeats 9] [--slot-pages 1,100]
        [--slot-repeats 9]

The executions are written through the repository's item mapping straight into moto's store (a PutItem each
would take minutes at 100,000). Each search is timed in design time less the time moto takes to answer: moto
looks at every item of a table on each Query of an index, where DynamoDB reads only the key range asked, so
its CPU would measure moto; the latency each call waits stays in. The figure is the median of `--repeats`.
moto also ends a Query's 1 MB page by the table's whole items where DynamoDB counts the index's entries (a
ByFlowStart entry is its keys): its page limit is raised by the ratio of the two sizes, so it pages as DynamoDB does.
And moto's store lives in this process: once written, its items are frozen out of the garbage collector
(`gc.freeze`), whose full collections would otherwise walk 100,000 executions during a search.
"""

import gc
import statistics
import time
from datetime import UTC, datetime, timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models import table as moto_table

from local.lambda_runtime import ensure_layer_on_path

from .fake_aws import units
from .fake_aws.runner import AwsLike
from .fake_aws.service import REGION, Latency, MotoTime
from .harness import NOOP_FLOW
from .report import Report, arguments

ensure_layer_on_path()
from backfill_core.flows.execution import Execution, ExecutionTrigger, Label, State, StateHistory  # noqa: E402
from backfill_core.kestra_api.execution_search import ExecutionSearch, search_executions  # noqa: E402
from backfill_core.settings import settings  # noqa: E402
from backfill_core.storage import executions_repository  # noqa: E402

TENANT, NAMESPACE, FLOW = "main", "bench.search", "history"
FIRST = datetime(2020, 1, 1, tzinfo=UTC)
PAGE_SIZE = 10
PAGES = (1, 50)
SLOTS_PAGE_SIZE = 100
SLOT_FLOW = NOOP_FLOW + "    timezone: {timezone}\n"  # the no-op flow, its schedule in a zone
# (what, flow id, cron, timezone, start, end): the backfills whose slots pages are timed
SLOT_CASES = (
    ("every minute, 1 year", "minutes", "* * * * *", "UTC", "2024-01-01T00:00:00Z", "2024-12-31T23:59:00Z"),
    (
        "daily, 35 years, Europe/Paris",
        "days",
        "0 0 * * *",
        "Europe/Paris",
        "1990-01-01T00:00:00Z",
        "2024-12-31T00:00:00Z",
    ),
)


def execution(n: int) -> Execution:
    """The n-th execution of the flow: a backfill's slot, started a minute after the one before, ended."""
    started = FIRST + timedelta(minutes=n)
    ended = started + timedelta(seconds=2)
    histories = [StateHistory(state=s, date=d) for s, d in (("RUNNING", started), ("SUCCESS", ended))]
    return Execution(
        id=f"bench{n:08d}",
        tenant_id=TENANT,
        namespace=NAMESPACE,
        flow_id=FLOW,
        flow_revision=1,
        labels=[Label(key="team", value="data" if n % 2 else "ops")],
        trigger=ExecutionTrigger(id="schedule", type="io.kestra.plugin.core.trigger.Schedule", variables={}),
        state=State(current="SUCCESS", histories=histories, start_date=started, end_date=ended, duration="PT2S"),
        backfill_id="bench-backfill",
        scheduled_date=started,
    )


def write_executions(first: int, last: int) -> None:
    """Executions first..last-1, as the repository maps them, put straight into moto's table."""
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(settings().executions_table)
    for n in range(first, last):
        table.put_item(executions_repository._item(execution(n)))
    gc.collect()
    gc.freeze()


def page_by_index_entries() -> None:
    """moto's page limit raised by how much larger an item is than its ByFlowStart entry (DynamoDB's measure)."""
    item = executions_repository._item(execution(0))
    entry = {name: item[name] for name in ("pk", "sk", "gsi1pk", "gsi1sk")}
    moto_table.RESULT_SIZE_LIMIT = 1_000_000 * units.item_size(item) // units.item_size(entry)


def timed_page(env: AwsLike, page: int, repeats: int) -> tuple[float, int, int]:
    """Median design milliseconds of the page without moto's own time, its DynamoDB calls, and the total."""
    times, calls, total = [], 0, 0
    for _ in range(repeats):
        env.fake.reset()
        with MotoTime() as moto:
            started = env.clock.monotonic()
            answer = search_executions(TENANT, ExecutionSearch(NAMESPACE, FLOW), page, PAGE_SIZE)
            spent = env.clock.monotonic() - started - moto.seconds / env.clock.scale
        assert len(answer.results) == PAGE_SIZE, f"page {page} has {len(answer.results)} executions"
        times.append(spent * 1000)
        calls, total = sum(env.fake.calls.values()), answer.total
    return statistics.median(times), calls, total


def slots_pages(env: AwsLike, pages: list[int], repeats: int) -> list[list]:
    """Each SLOT_CASES backfill's slots pages: median design milliseconds less moto's own time (after one page 1
    not timed, the warm function's), the DynamoDB calls, the first slot and the ratio to the first page's time."""
    rows = []
    for what, flow_id, cron, timezone, start, end in SLOT_CASES:
        with env.fake.acting_as("bench"):
            source = SLOT_FLOW.format(namespace="bench.slots", flow_id=flow_id, cron=cron, timezone=timezone)
            env.call("POST", "/api/v1/flows", source, "application/x-yaml")
            backfill = {"start": start, "end": end}
            body = {"namespace": "bench.slots", "flowId": flow_id, "triggerId": "schedule", "backfill": backfill}
            backfill_id = env.call("PUT", "/api/v1/triggers", body)["backfill"]["id"]
            env.sqs.purge_queue(QueueUrl=env.queue_url)  # its first slot's message: no executor runs here
            path = f"/api/v1/backfills/{backfill_id}/slots?size={SLOTS_PAGE_SIZE}&page="
            env.call("GET", path + "1")
            times: dict[int, list[float]] = {page: [] for page in pages}
            for _ in range(repeats):  # the pages in turn, so that a slower moment of the machine hits each alike
                for page in pages:
                    env.fake.reset()
                    with MotoTime() as moto:
                        started = env.clock.monotonic()
                        answer = env.call("GET", path + str(page))
                        spent = env.clock.monotonic() - started - moto.seconds / env.clock.scale
                    assert len(answer["results"]) == SLOTS_PAGE_SIZE, f"page {page}: {len(answer['results'])} slots"
                    times[page].append(spent * 1000)
                    calls, first, total = sum(env.fake.calls.values()), answer["results"][0]["date"], answer["total"]
                    if len(times[page]) == repeats:
                        ms = statistics.median(times[page])
                        base = statistics.median(times[pages[0]])
                        rows.append([what, f"{total:,}", page, first, f"{ms:.1f}", calls, f"{ms / base:.2f}x"])
                        print(rows[-1], flush=True)
    return rows


def main() -> None:
    args = arguments(
        __doc__,
        sizes=(str, "1000,100000", "executions in the flow, in turn"),
        repeats=(int, 9, "searches timed per page (the median is reported; a page takes ~30 ms)"),
        slot_pages=(str, "1,100", f"the slots pages timed ({SLOTS_PAGE_SIZE} slots a page; the first is the base)"),
        slot_repeats=(int, 9, "times each slots page is timed (the median is reported; a page takes ~50 ms)"),
    )
    sizes = [600, 3_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    report = Report("search_cost", "executions search, first and 50th page, against the flow's history", args.quick)
    rows, first_size, written = [], {}, 0
    with AwsLike(Latency()) as env:
        page_by_index_entries()
        for size in sizes:
            started = time.monotonic()
            write_executions(written, size)
            written = size
            print(f"{size:,} executions written in {time.monotonic() - started:.0f} s", flush=True)
            for page in PAGES:
                ms, calls, total = timed_page(env, page, args.repeats)
                first_size.setdefault(page, ms)
                ratio = ms / first_size[page]
                rows.append([f"{size:,}", page, f"{ms:.1f}", calls, f"{total:,}", f"{ratio:.2f}x"])
                print(rows[-1], flush=True)
        slot_rows = slots_pages(env, [int(page) for page in args.slot_pages.split(",")], args.slot_repeats)
    report.table(["executions", "page", "ms (design, moto's CPU out)", "DynamoDB calls", "total", "vs smallest"], rows)
    report.note(
        f"One flow, {PAGE_SIZE} a page, Kestra's default sort (state.startDate:desc); latencies 5 ms a DynamoDB "
        f"read; median of {args.repeats}. Done when: pages 1 and 50 at 100,000 within 1.5x of the same at 1,000."
    )
    headers = ["backfill", "slots", "page", "its first slot", "ms (design, moto's CPU out)", "DynamoDB calls"]
    report.table([*headers, "vs page 1"], slot_rows)
    report.note(
        f"GET /api/v1/backfills/{{id}}/slots?size={SLOTS_PAGE_SIZE}&page=N through the API handler, oldest first, "
        f"the handler's CPU counted in full; median of {args.slot_repeats}. Done when: page 100 within 1.5x of page 1."
    )
    report.save()


if __name__ == "__main__":
    main()
