"""Cold start: how long each handler module takes to import in a fresh interpreter (`python -X importtime`,
the cumulative time of the top-level `import app`, median of several runs), and the size of what
`sam build` deploys (the layer and each function, unzipped; Lambda's limit is 250 MB for them together).

Import time is most of a Python Lambda's cold start that the code controls; Lambda's own start of the
runtime is not measured here.

    .venv/bin/python -m bench.cold_start [--quick] [--runs 7]
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from local.aws_template import LocalResources, load_template

from .report import ROOT, Report, arguments

FUNCTIONS = ["api", "executor", "scheduler"]
LAYER = ROOT / "layers" / "core"
LAMBDA_UNZIPPED_LIMIT_MB = 250


def import_seconds(function: str) -> float:
    """Cumulative microseconds of `import app` in a fresh interpreter, as Lambda imports the handler:
    the function's folder first on the path, then the layer (/opt/python on Lambda)."""
    folder = ROOT / "functions" / function
    # The function's environment as template.yaml gives it: its import reads and checks its settings.
    settings = LocalResources(load_template(), "us-east-1").function_environment(f"{function.title()}Function")
    env = {
        **os.environ,
        **settings,
        "PYTHONPATH": os.pathsep.join([str(folder), str(LAYER)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"; the top level has no indent.
        if line.startswith("import time:") and line.rsplit("|", 1)[-1] == " app":
            return int(line.split("|")[1]) / 1e6
    raise RuntimeError(f"no import time for app of {function}: {done.stderr[-500:]}")


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def built_sizes(report: Report) -> None:
    sam = Path(sys.executable).parent / "sam"
    if not sam.exists() and not shutil.which("sam"):
        report.note("Built sizes skipped: the SAM CLI is not installed (`make .venv/.installed` installs it).")
        return
    with tempfile.TemporaryDirectory(prefix="bench-sam-") as build_dir:
        # sam build finds the runtime's python3.11 on PATH: the venv's, as `make test` arranges.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        done = subprocess.run(
            [str(sam if sam.exists() else "sam"), "build", "--build-dir", build_dir, "--template", "template.yaml"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            report.note(f"Built sizes skipped: `sam build` failed:\n\n```\n{(done.stdout + done.stderr)[-1500:]}\n```")
            return
        built = Path(build_dir)
        sizes = {p.name: megabytes(p) for p in sorted(built.iterdir()) if p.is_dir()}
    layer = sum(size for name, size in sizes.items() if "Layer" in name)
    rows = [[name, f"{size:.2f}"] for name, size in sizes.items()]
    report.table(["built artifact (sam build)", "unzipped MB"], rows)
    biggest = max(size for name, size in sizes.items() if "Layer" not in name)
    report.note(
        f"A function with the layer: {layer + biggest:.1f} MB of Lambda's {LAMBDA_UNZIPPED_LIMIT_MB} MB unzipped "
        f"limit ({(layer + biggest) / LAMBDA_UNZIPPED_LIMIT_MB:.1%})."
    )


def main() -> None:
    args = arguments(__doc__, runs=(int, 7, "fresh interpreters per handler; the median is reported"))
    runs = 2 if args.quick else args.runs
    report = Report("cold_start", "handler import time and built sizes", args.quick)
    rows = []
    for function in FUNCTIONS:
        times = sorted(import_seconds(function) for _ in range(runs))
        rows.append(
            [
                f"functions/{function}/app.py",
                f"{statistics.median(times) * 1000:.0f}",
                f"{times[0] * 1000:.0f}",
                f"{times[-1] * 1000:.0f}",
            ]
        )
    report.table(["handler", f"import ms (median of {runs})", "min ms", "max ms"], rows)
    built_sizes(report)
    report.save()


if __name__ == "__main__":
    main()
