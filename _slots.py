import statistics, sys, time
from bench.fake_aws.runner import AwsLike
from bench.fake_aws.service import Latency
from bench.harness import NOOP_FLOW
from bench.search_cost import MotoTime
cron, start, end = sys.argv[1], sys.argv[2], sys.argv[3]
with AwsLike(Latency()) as env:
    with env.fake.acting_as("bench"):
        env.call("POST", "/api/v1/flows", NOOP_FLOW.format(namespace="bench.slots", flow_id="f", cron=cron), "application/x-yaml")
        b = env.call("PUT", "/api/v1/triggers", {"namespace": "bench.slots", "flowId": "f", "triggerId": "schedule", "backfill": {"start": start, "end": end}})
        bid = b["backfill"]["id"]
        for order in (None,):
            for page in (1, 100, 1, 100):
                env.fake.reset()
                with MotoTime() as moto:
                    t = env.clock.monotonic(); c = time.process_time()
                    a = env.call("GET", f"/api/v1/backfills/{bid}/slots?page={page}&size=100")
                    d = env.clock.monotonic() - t
                print(page, f"design {d*1000:.1f} ms, moto {moto.seconds*1000:.1f} ms, cpu {1000*(time.process_time()-c):.1f}", a["total"], a["results"][0]["date"], sum(env.fake.calls.values()))
