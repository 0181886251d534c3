"""Every benchmark in turn, each in a fresh interpreter (the local stack and moto keep state per process),
each appending its section to bench/results.md.

    .venv/bin/python -m bench [--quick]      (make bench)
"""

import subprocess
import sys
import time

SCRIPTS = ["accept_latency", "throughput", "aws_like", "dispatch_cost", "planning", "cold_start", "memory", "tick_cost"]
SCRIPTS += ["search_cost"]  # reads against history


def main() -> int:
    options = sys.argv[1:]
    failed = []
    for name in SCRIPTS:
        started = time.monotonic()
        print(f"\n=== bench.{name} {' '.join(options)}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}", *options], check=False).returncode:
            failed.append(name)
        print(f"=== bench.{name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
