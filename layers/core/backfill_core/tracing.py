"""X-Ray (template.yaml: Tracing: Active): Powertools' Tracer around a handler, so each invocation's AWS calls
are subsegments of its trace.

Made on Lambda only. Powertools' Tracer disables itself elsewhere, but still imports the X-Ray SDK, and with it
botocore's client machinery, when it is made: the local stack and the tests, which never trace, would pay that
at every handler's import (tests/unit/test_cold_imports.py)."""

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """On Lambda (its task root is set), unless POWERTOOLS_TRACE_DISABLED says otherwise or SAM CLI emulates it."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL") and not disabled


def traced(handler: Handler) -> Handler:
    """The handler, traced by Powertools' Tracer when tracing is enabled; as it is otherwise."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    # The AWS calls are what a trace should show; patching every module X-Ray knows (requests, httplib, ...) would
    # also trace the flows' own HTTP tasks, and costs 30 to 50 ms more at each cold start.
    return cast(Handler, Tracer(patch_modules=PATCHED).capture_lambda_handler(handler))


PATCHED = ["botocore"]
