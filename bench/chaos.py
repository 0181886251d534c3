"""Fault injection over a large backfill: executors and dispatchers crash at each point with a given
probability, SQS duplicates and redelivers, DynamoDB throttles and loses answers, a poison message sits
on the queue; then every slot is recounted. Prints the seed (replay with --seed), the faults injected by
point, duplicates and lost slots; exits 1 on any problem.

    .venv/bin/python -m bench.chaos --slots 1000
"""

import argparse
import logging
import os
import random
import sys

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")  # the executor logs every slot otherwise
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # and prints a metric for every slot it lets go

from local.lambda_runtime import ensure_layer_on_path

ensure_layer_on_path()

from tests.chaos.faults import FaultInjector, rates  # noqa: E402
from tests.chaos.scenario import CHAOS_ENV, ChaosRun, local_aws  # noqa: E402
from tests.harness import Harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=10, help="messages per executor invocation")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: a new random seed)")
    parser.add_argument("--crash", type=float, default=0.10, help="probability at each crash point")
    parser.add_argument("--aws", type=float, default=0.10, help="probability of an SQS duplicate or redelivery")
    parser.add_argument("--per-call", type=float, default=0.01, help="probability of a DynamoDB fault per call")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {seed}", flush=True)
    logging.disable(logging.CRITICAL)  # the poller logs each dead invocation
    with local_aws(CHAOS_ENV) as resources:
        harness = Harness(resources)
        injector = FaultInjector(
            seed, rates(args.crash, args.aws, args.per_call), harness.sqs, harness.queue_url
        ).install()
        try:
            report = ChaosRun(harness, injector, args.slots, args.concurrency, args.batch_size).run()
        finally:
            injector.uninstall()
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
