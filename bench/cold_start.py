"""Cold start: how long each handler takes to import as Lambda loads it, and the size of what `sam build` deploys
(the layer and each function, unzipped; Lambda's limit is 250 MB for them together).

The handlers are imported from `sam build`'s output, as Lambda lays it out: the function's folder (/var/task), then
the layer (/opt/python), then what Lambda's runtime brings (boto3, botocore and their dependencies, taken from this
venv), and nothing else: no site-packages (`python -S`), so a package of the venv that Lambda does not have (awscrt,
cryptography) is not imported. Bytecode is used as shipped and never written (PYTHONDONTWRITEBYTECODE; /opt and
/var/task are read-only on Lambda, so a module shipped without bytecode is compiled again on every cold start). Each
figure is the cumulative time of the top-level `import app` (`python -X importtime`), the median of fresh
interpreters; the same layer and functions with their bytecode removed show what compiling costs.

Import time is most of a Python Lambda's cold start that the code controls; Lambda's own start of the
runtime is not measured here.

    .venv/bin/python -m bench.cold_start [--quick] [--runs 7] [--before COMMIT]
"""

import importlib.util
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from local.aws_template import LocalResources, load_template

from .report import ROOT, Report, arguments

FUNCTIONS = {"api": "ApiFunction", "executor": "ExecutorFunction", "scheduler": "SchedulerFunction"}
LAYER = "CoreLayer"
# Lambda's python3.11 runtime: boto3 and what it needs, beside the standard library.
RUNTIME_MODULES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]
LAMBDA_UNZIPPED_LIMIT_MB = 250
TARGET_MS = 250  # issue 15: every handler imports in under 250 ms


def sam_build(build_dir: Path, source: Path = ROOT) -> float:
    """Seconds `sam build` took to build `source`'s template into `build_dir`."""
    venv_sam = Path(sys.executable).parent / "sam"
    sam = str(venv_sam) if venv_sam.exists() else "sam"
    # sam build finds the runtime's python3.11 on PATH: the venv's, as `make test` arranges.
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [sam, "build", "--no-cached", "--build-dir", str(build_dir), "--template", "template.yaml"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"`sam build` failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - started


def checkout(commit: str, folder: Path) -> Path:
    """The tree of `commit` (`git archive`), to build it as it was."""
    tree = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(tree.stdout)) as archive:
        archive.extractall(folder, filter="data")
    return folder


def lambda_runtime(folder: Path) -> Path:
    """A folder of links to this venv's copies of what Lambda's runtime brings (their bytecode included)."""
    folder.mkdir()
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{name} is not installed in this venv; Lambda's runtime has it")
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            (folder / name).symlink_to(origin.parent, target_is_directory=True)
            continue
        (folder / origin.name).symlink_to(origin)
        compiled = Path(importlib.util.cache_from_source(str(origin)))
        if compiled.exists():
            (folder / "__pycache__").mkdir(exist_ok=True)
            (folder / "__pycache__" / compiled.name).symlink_to(compiled)
    return folder


def bytecode_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pyc"))


def without_bytecode(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def import_seconds(function: str, code: Path, layer: Path, runtime: Path) -> float:
    """Cumulative seconds of `import app` in a fresh interpreter laid out as Lambda's."""
    # The function's environment as template.yaml gives it: its import reads and checks its settings.
    settings = LocalResources(load_template(), "us-east-1").function_environment(FUNCTIONS[function])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        **settings,
        "LAMBDA_TASK_ROOT": str(code),  # as Lambda sets it (/var/task): what is built only on Lambda is built
        "PYTHONPATH": os.pathsep.join([str(code), str(layer), str(runtime)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", "import app"],
        cwd=code,
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


def medians(runs: int, layouts: dict[str, tuple[Path, Path]], runtime: Path) -> Iterator[list]:
    """Per handler, per layout (its functions' folder and its layer): median, min and max ms. The layouts take
    turns, run by run, so that a change in the machine's load falls on each alike."""
    for function in FUNCTIONS:
        times: dict[str, list[float]] = {name: [] for name in layouts}
        for _ in range(runs):
            for name, (functions, layer) in layouts.items():
                times[name].append(import_seconds(function, functions / FUNCTIONS[function], layer, runtime))
        row: list = [f"functions/{function}/app.py"]
        for name in layouts:
            ms = sorted(t * 1000 for t in times[name])
            row += [f"{statistics.median(ms):.0f}", f"{ms[0]:.0f}-{ms[-1]:.0f}"]
        yield row


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def built_sizes(report: Report, built: Path) -> None:
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
    args = arguments(
        __doc__,
        runs=(int, 7, "fresh interpreters per handler and layout; the median is reported"),
        before=(str, "", "a commit to build and measure beside this tree, taking turns with it (e.g. HEAD~3)"),
    )
    runs = 2 if args.quick else args.runs
    report = Report("cold_start", "handler import time from sam build's output, and built sizes", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        work = Path(scratch)
        built = work / "build"
        seconds = sam_build(built)
        layer = built / LAYER / "python"
        stripped = work / "stripped"
        for name in [LAYER, *FUNCTIONS.values()]:
            without_bytecode(built / name, stripped / name)
        layouts = {"as built": (built, layer), "no bytecode": (stripped, stripped / LAYER / "python")}
        if args.before:
            before = work / "before"
            sam_build(before, checkout(args.before, work / "before-source"))
            layouts[f"{args.before} as built"] = (before, before / LAYER / "python")
        runtime = lambda_runtime(work / "runtime")
        shipped = bytecode_files(work)
        rows = list(medians(runs, layouts, runtime))
        if bytecode_files(work) != shipped:
            raise SystemExit("bytecode was written during the measurement: the figures are not the shipped layer's")
        headers = ["handler"]
        for name in layouts:
            headers += [f"{name}: import ms (median of {runs})", "min-max"]
        report.table(headers, rows)
        layer_modules = len(list(layer.rglob("*.py")))
        layer_compiled = len(list(layer.rglob("__pycache__/*.pyc")))
        slowest = max(float(row[1]) for row in rows)
        report.note(
            f"`sam build`: {seconds:.0f} s. The built layer carries bytecode for {layer_compiled:,} of its "
            f"{layer_modules:,} modules. Slowest handler as built: {slowest:.0f} ms (target: under {TARGET_MS} ms). "
            f"Lambda's layout: the function's folder, the layer, then the runtime's {', '.join(RUNTIME_MODULES)} "
            "from this venv (`python -S`: nothing else of the venv); `no bytecode` is the same output with every "
            "__pycache__ removed, compiled again by each interpreter as Lambda did before the layer shipped it. "
            "The layouts take turns, run by run."
        )
        built_sizes(report, built)
    report.save()


if __name__ == "__main__":
    main()
