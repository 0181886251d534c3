"""What Lambda gives a handler: its own module instance (no shared state between concurrent copies),
a context object with the remaining time, and the layer on the import path."""

import importlib.util
import itertools
import sys
import time
import uuid
from types import ModuleType

from .aws_template import ROOT

LAYER_PATH = ROOT / "layers" / "core"
_instances = itertools.count(1)


def ensure_layer_on_path() -> None:
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))


def load_handler_module(function_dir: str) -> ModuleType:
    """A fresh copy of functions/<dir>/app.py, as a new Lambda execution environment would import it."""
    ensure_layer_on_path()
    path = ROOT / "functions" / function_dir / "app.py"
    name = f"local_{function_dir}_app_{next(_instances)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)
