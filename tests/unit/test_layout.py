"""The shared layer's layout holds: packages by noun in layers whose arrows point only downward, modules small
enough to read whole, no domain type defined in storage, and a domain that knows nothing of HTTP or Lambda."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "core" / "backfill_core"
MAX_LINES = 320  # "about 300"

# Bottom to top: a module may import modules of its own layer or of the layers below it, never above.
LAYERS = [
    ("shared", ["settings", "errors", "ids", "aws_clients", "kestra_model", "strict_json", "metrics", "tracing"]),
    ("time", ["schedules", "kestra_model"]),
    ("flows", ["flows", "triggers.model"]),
    (
        "records",
        [
            "backfills.model",
            "backfills.state_machine",
            "backfills.progress",
            "backfills.progress_changes",
            "backfills.view",
            "backfills.reprocess",
            "slots.message",
        ],
    ),
    ("boundary models", ["kestra_api.requests", "kestra_api.filter_fields", "kestra_api.filters"]),
    ("storage", ["storage"]),
    ("use cases", ["backfills", "triggers", "slots"]),
    ("api", ["kestra_api"]),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(LAYER.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The layer of the longest prefix that names the module."""
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), index))
    assert best[1] >= 0, f"backfill_core.{module} is in no layer of {__file__}"
    return best[1]


def imports_of(path: Path) -> set[str]:
    """The backfill_core modules a module imports (a name imported from a package counts as its module when
    there is one by that name)."""
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("backfill_core"):
            base = node.module.removeprefix("backfill_core").lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}".lstrip(".")
                found.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("backfill_core.") for a in node.names if a.name.startswith("backfill_core.")}
    return {name for name in found if name}


def test_every_arrow_points_to_the_same_layer_or_below():
    upward = []
    for module, path in modules().items():
        if not module:
            continue
        for imported in imports_of(path):
            if layer_of(imported) > layer_of(module):
                upward.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {imported}")
    assert upward == []


def test_the_modules_import_one_another_without_a_cycle():
    graph = {module: imports_of(path) - {module} for module, path in modules().items() if module}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {exc.args[1]}") from exc


def test_no_module_is_longer_than_one_can_hold_in_ones_head():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_storage_defines_no_domain_type_only_its_own_errors_and_write_conditions():
    defined = {
        node.name
        for path in (LAYER / "storage").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    # LogsNotWritten, SendFailed and Unprocessed: what a write or a batch could not do; BackfillStart: what a write
    # must find unchanged; Update: a write being built.
    assert defined <= {"LogsNotWritten", "SendFailed", "Unprocessed", "BackfillStart", "Update"}


def test_the_domain_knows_nothing_of_http_or_lambda_events():
    """Routers, responses, status codes and events are the handlers'; the layer may only borrow Powertools'
    JSON encoder (kestra_api writes YAML values as the API always wrote them)."""
    http = ("event_handler.api_gateway", "event_handler import", "event_handler.exceptions", "data_classes")
    for module, path in modules().items():
        text = path.read_text()
        assert not [marker for marker in http if marker in text], module
        assert "status_code" not in text and "HTTPStatus" not in text, module
        assert "functions." not in text and "from local" not in text, module
