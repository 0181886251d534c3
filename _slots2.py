import cProfile, pstats, sys
from datetime import datetime, UTC
from local.lambda_runtime import ensure_layer_on_path
ensure_layer_on_path()
from backfill_core.flows.model import parse_flow
from backfill_core.schedules.order import SlotOrder
from bench.harness import NOOP_FLOW
flow = parse_flow(NOOP_FLOW.format(namespace="a", flow_id="f", cron=sys.argv[1]))
s = flow.triggers[0].schedule()
start, end = datetime(1990,1,1,tzinfo=UTC), datetime(2024,12,31,tzinfo=UTC)
import time
for skip in (0, 9900):
    t=time.perf_counter()
    first = SlotOrder.OLDEST_FIRST.nth(s, start, end, skip)
    t1=time.perf_counter()
    slots = SlotOrder.OLDEST_FIRST.slots_from(s, start, end, first, 100)
    t2=time.perf_counter()
    print(skip, first, f"nth {1000*(t1-t):.1f} ms, step {1000*(t2-t1):.1f} ms")
cProfile.run("SlotOrder.OLDEST_FIRST.nth(s, start, end, 9900)", sort="cumulative")
