"""Kestra's `read()`: the text of one of the execution's own internal-storage files, as Kestra's ReadFileFunction
allows (a kestra:// URI under the current execution; namespace files are not kept here). Bounded: the engine
reads it, and a property may hold at most MAX_READ_BYTES."""

from typing import Any

from botocore.exceptions import ClientError
from jinja2 import pass_context
from jinja2.runtime import Context

from backfill_core.aws_clients import s3
from backfill_core.flows.pebble.limits import PebbleProblem
from backfill_core.flows.tasks.internal_storage import SCHEME, StorageRefused, execution_prefix, object_key, uri_path
from backfill_core.settings import settings

MAX_READ_BYTES = 1024 * 1024


class ReadProblem(PebbleProblem):
    """A file read() may not, or cannot, read."""


def _field(context: Context, variable: str, name: str) -> str:
    value = context.get(variable)
    found = value.get(name) if isinstance(value, dict) else None
    if not isinstance(found, str) or not found:
        raise ReadProblem(f"read() needs {variable}.{name}, which this expression does not have")
    return found


@pass_context
def read_file(context: Context, path: Any = None) -> str:
    if not isinstance(path, str) or not path.startswith(SCHEME):
        raise ReadProblem(
            f"read() takes a kestra:// URI of the execution's files (namespace files are not kept here), not '{path}'"
        )
    try:
        file_path = uri_path(path)
    except StorageRefused as exc:
        raise ReadProblem(f"read(): {exc}") from exc
    prefix = execution_prefix(
        _field(context, "flow", "namespace"), _field(context, "flow", "id"), _field(context, "execution", "id")
    )
    if not file_path.startswith(prefix):
        raise ReadProblem(f"read(): '{path}' is not a file of the current execution")
    try:
        key = object_key(_field(context, "flow", "tenantId"), path)  # the execution's tenant's files only
        answer = s3().get_object(Bucket=settings().execution_files_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise ReadProblem(f"read(): no file '{path}'") from exc
        raise
    body = answer["Body"]
    try:
        if int(answer["ContentLength"]) > MAX_READ_BYTES:
            raise ReadProblem(
                f"read(): '{path}' is {int(answer['ContentLength']):,} bytes, more than the {MAX_READ_BYTES:,} an "
                "expression may read; pass the file to a script's inputFiles instead"
            )
        return body.read().decode("utf-8", errors="replace")
    finally:
        body.close()
