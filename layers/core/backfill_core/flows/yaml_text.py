"""A flow's YAML read as Kestra's parser reads it. PyYAML is imported by the first flow read, not by a handler's
cold start (bench/cold_start.py)."""

from functools import cache
from typing import Any

TIMESTAMP = "tag:yaml.org,2002:timestamp"


class YamlProblem(ValueError):
    """The text is not YAML; the message is PyYAML's, with the line and column."""


@cache
def _kestra_loader() -> Any:
    """PyYAML turns an unquoted `2024-01-01` or `2024-01-01T00:00:00Z` into a date; Kestra's parser keeps it as
    the text written, which its inputs, variables and templates then read. So does this SafeLoader."""
    import yaml

    class KestraYamlLoader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [(tag, pattern) for tag, pattern in resolvers if tag != TIMESTAMP]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

    return KestraYamlLoader


def load_yaml(source: str) -> Any:
    """The document `source` holds; YamlProblem when it is not YAML (a ValueError, like a value YAML's types
    refuse)."""
    import yaml

    try:
        return yaml.load(source, Loader=_kestra_loader())  # noqa: S506 - a SafeLoader, less the timestamp resolver
    except yaml.YAMLError as exc:
        raise YamlProblem(str(exc)) from exc
