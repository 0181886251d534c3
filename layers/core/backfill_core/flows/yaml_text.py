"""A flow's YAML read as Kestra's parser reads it."""

from typing import Any

import yaml

TIMESTAMP = "tag:yaml.org,2002:timestamp"


class KestraYamlLoader(yaml.SafeLoader):
    """PyYAML turns an unquoted `2024-01-01` or `2024-01-01T00:00:00Z` into a date; Kestra's parser keeps it as
    the text written, which its inputs, variables and templates then read. So do we."""


KestraYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(source: str) -> Any:
    return yaml.load(source, Loader=KestraYamlLoader)  # noqa: S506 - a SafeLoader, less the timestamp resolver
