"""Cold start: a handler's import leaves botocore's clients, Jinja2 and PyYAML and what only some requests need
unimported, its AWS clients leave boto3 (and with it s3transfer's thread and process pools) unimported, and the layer
and the functions are built with their bytecode (bench/cold_start.py measures the times)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.aws_template import ROOT, LocalResources, load_template

FUNCTIONS = {"api": "ApiFunction", "executor": "ExecutorFunction", "scheduler": "SchedulerFunction"}
# What `import boto3` brings (s3transfer and its pools), Powertools' OpenAPI models (only /openapi.json and /swagger
# use them) and `regex` (only a REGEX filter does): none is needed before a handler's first request.
NOT_AT_COLD_START = ["boto3", "s3transfer", "multiprocessing", "aws_lambda_powertools.event_handler.openapi.models"]
NOT_AT_COLD_START += ["regex"]
# botocore's clients come with the first client; Jinja2 (Pebble) with the first expression; PyYAML with the first
# flow read: none at the import itself.
NOT_AT_IMPORT = ["botocore.client", "jinja2", "yaml"]

PROBE = """
import gc, json, sys
import app
imported = sorted(sys.modules)
collector = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
from backfill_core import aws_clients
clients = [aws_clients.dynamodb(), aws_clients.sqs(), aws_clients.s3(), aws_clients.lambda_client()]
names = [c.meta.service_model.service_name for c in clients]
print(json.dumps({"imported": imported, "modules": sorted(sys.modules), "clients": names, "collector": collector}))
"""


def cold_start(function: str) -> dict:
    """The modules a fresh interpreter holds after importing the handler (`imported`), and after making its AWS
    clients too (`modules`)."""
    folder = ROOT / "functions" / function
    settings = LocalResources(load_template(), "us-east-1").function_environment(FUNCTIONS[function])
    env = {
        **os.environ,
        **settings,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "layers" / "core")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_imports_no_client_template_or_yaml_machinery_and_its_clients_no_boto3(function):
    loaded = cold_start(function)
    assert loaded["clients"] == ["dynamodb", "sqs", "s3", "lambda"]
    assert "botocore.client" in loaded["modules"]
    assert [name for name in NOT_AT_COLD_START if name in loaded["modules"]] == []
    assert [name for name in NOT_AT_IMPORT if name in loaded["imported"]] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_leaves_the_collector_running_and_what_its_import_built_frozen(function):
    """Paused for the import (backfill_core/cold_start.py), never left paused: a warm process would grow."""
    collector = cold_start(function)["collector"]
    assert collector["enabled"] is True
    assert collector["frozen"] > 50_000  # the import's objects: a later pass of the collector skips them


def recipe(makefile: Path, target: str) -> list[str]:
    """The commands `make` would run for `target` (`make -n`: printed, not run)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-f", str(makefile), target, "ARTIFACTS_DIR=/artifacts"],
        cwd=makefile.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.replace("\\\n", " ").splitlines()


# Each artifact sam build makes and the folder of it Lambda imports from (a layer's python/ is /opt/python).
ARTIFACTS = {"CoreLayer": "/artifacts/python", "ApiFunction": "/artifacts", "ExecutorFunction": "/artifacts"}
ARTIFACTS |= {"SchedulerFunction": "/artifacts", "TaskRunnerFunction": "/artifacts"}


@pytest.mark.parametrize("resource", ARTIFACTS)
def test_the_layer_and_the_functions_are_built_with_their_bytecode_for_the_runtimes_python(resource):
    """sam build runs the Makefiles' targets: Lambda's /opt and /var/task are read-only, so bytecode not built in
    is compiled again by every cold start (tests/integration/test_template.py checks a real build's files)."""
    template = load_template()
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"
    built = template["Resources"][resource]
    assert built["Metadata"]["BuildMethod"] == "makefile"
    folder = built["Metadata"].get("ContextPath") or built["Properties"]["ContentUri"]
    steps = recipe(ROOT / folder / "Makefile", f"build-{resource}")
    # Compiled last, so that nothing copied after it lacks bytecode, by the runtime's Python (bytecode is per version).
    compile_all = f'python3.11 -m compileall -q -j0 --invalidation-mode unchecked-hash "{ARTIFACTS[resource]}"'
    assert steps[-1] == compile_all
    if resource == "CoreLayer":  # its packages for the runtime's Python, from the lock
        assert all(part in steps[0] for part in ("--python-version 3.11", "--require-hashes", "-r requirements.txt"))
