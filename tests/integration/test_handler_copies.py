"""The local stack loads a copy of a handler per Lambda environment it stands for (an executor per unit of
concurrency). Each copy loaded stays loaded, with sibling modules of its own: loading the next one used to drop the
ones before from sys.modules, and the throughput benchmark, which finds each poller's module there, failed at any
concurrency above 1."""

import sys

from local.lambda_runtime import load_handler_module


def test_each_copy_of_a_handler_stays_loaded_with_its_own_siblings(aws):
    first, second = load_handler_module("api"), load_handler_module("api")
    executors = [load_handler_module("executor") for _ in range(3)]

    for copy in (first, second, *executors):
        assert sys.modules[copy.__name__] is copy
    assert first.errors is not second.errors  # its own routers, bound to its own resolver
    assert first.app is not second.app
    assert "errors" not in sys.modules  # a sibling is reached through its copy, never shared by name
