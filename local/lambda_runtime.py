"""What Lambda gives a handler: its own module instance (no shared state between concurrent copies),
a context object with the remaining time, and the layer on the import path."""

import importlib.util
import itertools
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType

from .aws_template import ROOT

LAYER_PATH = ROOT / "layers" / "core"
_instances = itertools.count(1)
_loading = threading.Lock()  # sys.path and the siblings in sys.modules are process-wide while a copy loads


def ensure_layer_on_path() -> None:
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))


def load_handler_module(function_dir: str) -> ModuleType:
    """A fresh copy of functions/<dir>/app.py, as a new Lambda execution environment would import it.

    The function's directory is its code root, so app.py imports its sibling modules by their top-level names:
    the directory is on the path while it loads, and the siblings are dropped from sys.modules afterwards, so the
    next copy imports its own (its own routers, bound to its own resolver) rather than sharing this one's."""
    ensure_layer_on_path()
    code_root = ROOT / "functions" / function_dir
    name = f"local_{function_dir}_app_{next(_instances)}"
    spec = importlib.util.spec_from_file_location(name, code_root / "app.py")
    module = importlib.util.module_from_spec(spec)
    with _loading:
        before = set(sys.modules)
        sys.modules[name] = module
        sys.path.insert(0, str(code_root))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(code_root))
            # This copy's siblings only: the copies loaded before stay in sys.modules, as each Lambda environment's
            # handler stays loaded. list(): another thread may import meanwhile (botocore loads on first use).
            loaded = [(n, m) for n, m in list(sys.modules.items()) if n not in before and n != name]
            for sibling in [n for n, m in loaded if _is_under(m, code_root)]:
                del sys.modules[sibling]
    return module


def _is_under(module: ModuleType, directory: Path) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).resolve().is_relative_to(directory.resolve())


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
