"""The `kestra` module a Python script task can import, as Kestra's own `kestra` package offers it:
`Kestra.outputs({...})` prints the one line the task runner reads into `outputs.<taskId>.vars`."""

import json
from typing import Any


class Kestra:
    @staticmethod
    def outputs(values: dict[str, Any]) -> None:
        print("::" + json.dumps({"outputs": values}) + "::", flush=True)
