"""Kestra's internal storage: `kestra:///<namespace as a path>/<flow>/executions/<execution>/tasks/<task>/<task
run>/<name>` URIs, kept as objects under `files/<tenant>/` of the execution-files bucket.

Kestra lays out a task run's files that way (its StorageContext: the namespace's dots become slashes, the flow and
task ids slugified). A task reads files of its own flow only (its own executions' and earlier ones'): a URI of
another flow or namespace is refused, as is one that could leave its prefix (`..`, empty segments)."""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

SCHEME = "kestra://"
FILES_PREFIX = "files/"
MAX_FILE_BYTES = 256 * 1024 * 1024  # what one file may take of the runner's /tmp (Lambda's 512 MB by default)


class StorageRefused(ValueError):
    """A URI that is not an internal-storage file this task may reach; the message says why."""


def slugify(text: str) -> str:
    """Kestra's Slugify: whitespace to dashes, accents dropped, only word characters and dashes, `_` to `-`,
    no repeated, leading or trailing dash, lower case."""
    slug = re.sub(r"\s", "-", text)
    slug = unicodedata.normalize("NFD", slug)
    slug = re.sub(r"[^\w-]", "", slug, flags=re.ASCII).replace("_", "-")
    slug = re.sub("-{2,}", "-", slug).strip("-")
    return slug.lower()


def namespace_path(namespace: str) -> str:
    return namespace.replace(".", "/")


def flow_prefix(namespace: str, flow_id: str) -> str:
    """The path every file of the flow's executions starts with."""
    return f"/{namespace_path(namespace)}/{slugify(flow_id)}/executions/"


def execution_prefix(namespace: str, flow_id: str, execution_id: str) -> str:
    return f"{flow_prefix(namespace, flow_id)}{execution_id}/"


def uri_path(uri: str) -> str:
    """The path of a `kestra:///...` URI, checked: absolute, no empty, `.` or `..` segment, no NUL, not a
    folder. Raises StorageRefused naming the problem."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise StorageRefused(f"'{uri}' is not an internal-storage URI (kestra:///...)")
    path = uri[len(SCHEME) :]
    if not path.startswith("/") or path.startswith("//"):
        raise StorageRefused(f"'{uri}': an internal-storage URI is kestra:/// followed by a path")
    parts = path[1:].split("/")
    if any(part in ("", ".", "..") for part in parts) or "\0" in path or "?" in path or "#" in path:
        raise StorageRefused(f"'{uri}': the path must not have empty, '.' or '..' segments, '?' or '#'")
    return path


def working_directory_uri(namespace: str, flow_id: str, execution_id: str, task_id: str, task_run_id: str) -> str:
    """The archive a WorkingDirectory's tasks share, under its own task run."""
    prefix = f"{execution_prefix(namespace, flow_id, execution_id)}tasks/{slugify(task_id)}/{task_run_id}/"
    return f"{SCHEME}{prefix}working-directory.tar.gz"


def object_key(tenant: str, uri: str) -> str:
    """Where the file of the URI lives in the execution-files bucket."""
    return f"{FILES_PREFIX}{tenant}{uri_path(uri)}"


@dataclass(frozen=True)
class TaskStorage:
    """One task run's place in the internal storage, and what it may read."""

    bucket: str
    tenant: str
    namespace: str
    flow_id: str
    execution_id: str
    task_id: str
    task_run_id: str
    working_directory: str | None = None  # the archive of the WorkingDirectory it runs in

    @property
    def task_prefix(self) -> str:
        return (
            f"{execution_prefix(self.namespace, self.flow_id, self.execution_id)}tasks/{slugify(self.task_id)}/"
            f"{self.task_run_id}/"
        )

    def uri_for(self, name: str) -> str:
        """The URI of a file this task run stores under `name` (a relative path)."""
        path = PurePosixPath(name)
        if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
            raise StorageRefused(f"'{name}': a stored file's name must be a relative path")
        return f"{SCHEME}{self.task_prefix}{path}"

    def readable_key(self, uri: str) -> str:
        """The object key of a file the task may read: one of its own flow's executions. Others are refused."""
        path = uri_path(uri)
        if not path.startswith(flow_prefix(self.namespace, self.flow_id)):
            raise StorageRefused(
                f"'{uri}' is not a file of flow {self.namespace}.{self.flow_id}: a task reads only its own flow's "
                "internal-storage files"
            )
        return f"{FILES_PREFIX}{self.tenant}{path}"

    def writable_key(self, uri: str) -> str:
        path = uri_path(uri)
        if uri != self.working_directory and not path.startswith(self.task_prefix):
            raise StorageRefused(f"'{uri}' is outside the task run's own storage")
        return f"{FILES_PREFIX}{self.tenant}{path}"
