"""Kestra's `GET /executions/{id}/file?path=kestra:///...`: one internal-storage file of the execution.

Kestra serves only a path under the execution's own prefix (it redirects a path of another execution to that
execution's route; here such a path is not found, and reading the other execution is the caller's next call)."""

from posixpath import basename

from backfill_core.errors import Invalid, NotFound
from backfill_core.flows.tasks.internal_storage import StorageRefused, execution_prefix, object_key, uri_path
from backfill_core.kestra_api.searches import tenant_execution
from backfill_core.storage import execution_files

# Lambda answers at most 6 MB, and a file goes out base64-encoded (4 bytes for 3), headers aside.
MAX_FILE_ANSWER_BYTES = 4 * 1024 * 1024


def execution_file(tenant: str, execution_id: str, path: str) -> tuple[str, bytes]:
    """The file's name and bytes. NotFound: no such execution of the tenant, or the path is not one of its files;
    Invalid: the path is no internal-storage URI, or the file is larger than one answer may carry."""
    execution = tenant_execution(tenant, execution_id)
    try:
        path_only = uri_path(path)
    except StorageRefused as exc:
        raise Invalid(f"path: {exc}") from exc
    if not path_only.startswith(execution_prefix(execution.namespace, execution.flow_id, execution.id)):
        raise NotFound(f"path: '{path}' is not a file of execution {execution_id}")
    found = execution_files.read(object_key(execution.tenant_id, path), MAX_FILE_ANSWER_BYTES)
    if found is None:
        raise NotFound(f"path: no file '{path}' in execution {execution_id}")
    size, body = found
    if body is None:
        raise Invalid(
            f"path: the file is {size:,} bytes, more than the {MAX_FILE_ANSWER_BYTES:,} one answer may carry "
            "(Lambda's 6 MB response limit); read it from the execution-files bucket, under files/"
        )
    return basename(path_only), body
