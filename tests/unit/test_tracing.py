"""X-Ray: on Lambda the handlers are wrapped by Powertools' Tracer; elsewhere (the local stack, the tests, SAM CLI's
emulator) nothing of the X-Ray SDK is imported, and POWERTOOLS_TRACE_DISABLED turns it off on Lambda too."""

import json
import os
import subprocess
import sys

import pytest

from local.aws_template import ROOT, LocalResources, load_template

PROBE = """
import json, sys
import app
print(json.dumps({"xray": "aws_xray_sdk" in sys.modules, "patched": sorted(
    name.rsplit(".", 1)[-1] for name in sys.modules if name.startswith("aws_xray_sdk.ext.") and name.count(".") == 2
)}))
"""


def handler_imported(function: str, resource: str, **environment: str) -> dict:
    folder = ROOT / "functions" / function
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL")},
        **LocalResources(load_template(), "us-east-1").function_environment(resource),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "layers" / "core")]),
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


ON_LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}
TRACING_CALLS = {**ON_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"}  # as TraceAwsCalls=true deploys it


@pytest.mark.parametrize(
    ("environment", "traced"),
    [
        (TRACING_CALLS, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),
        (ON_LAMBDA, False),  # the template's default: TraceAwsCalls is "false"
        ({**TRACING_CALLS, "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_the_executor_is_traced_on_lambda_only(environment, traced):
    assert handler_imported("executor", "ExecutorFunction", **environment)["xray"] is traced


def test_every_engine_handler_is_traced_on_lambda():
    for function, resource in (("api", "ApiFunction"), ("scheduler", "SchedulerFunction")):
        assert handler_imported(function, resource, **TRACING_CALLS)["xray"] is True


def test_only_the_aws_calls_are_patched():
    """The flows' own HTTP calls (requests, httplib) are not the engine's to trace, and patching them costs 30 to 50 ms
    more at each cold start."""
    patched = handler_imported("executor", "ExecutorFunction", **TRACING_CALLS)["patched"]
    assert "botocore" in patched and not {"requests", "httplib", "httpx", "sqlite3"} & set(patched), patched
