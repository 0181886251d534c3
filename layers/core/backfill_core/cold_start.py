"""A handler's imports build a few hundred thousand objects (pydantic's models and validators, Powertools) that live
as long as the process. The cyclic collector's passes over them during the imports find nothing to free: about
100 passes, 15 to 25 ms, 7% of a cold start (bench/cold_start.py). Freezing them afterwards keeps every later pass,
in every warm invocation, from walking them again. Reference counting frees what the imports drop, as always."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_imported_once = False


@contextmanager
def imports_without_collection() -> Iterator[None]:
    """The handler's imports with the collector paused, then what they built frozen and the collector running as
    before. Only a process's first handler does so, as Lambda's one import: the local stack and the tests load
    many copies in one process, and a freeze would keep for good the cycles their earlier copies left."""
    global _imported_once
    if _imported_once:
        yield
        return
    _imported_once = True
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
