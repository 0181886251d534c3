"""How much one template may build: past these, a value would not fit an invocation, a log line or a DynamoDB
item, and building it is the cost a hostile template would impose."""

MAX_RENDERED_CHARS = 1024 * 1024
"""A rendered property larger than this fails its task."""

MAX_ITEMS = 100_000
"""The longest list a function such as `range()` builds (Jinja's own sandbox bounds its `range` the same)."""


class PebbleProblem(ValueError):
    """A filter, function or expression given what Kestra would refuse too; the message names it."""
