"""The task runner's reads and writes of the internal storage, with its own role: a script's `outputFiles` kept
after it ran, `kestra://` values of its `inputFiles` fetched into its working directory, and the S3 tasks' files.

The working directory's files belong to flow code: they are read without following a link (a script could point
one at the runner's own files), and only regular files are kept."""

import hashlib
import os
import re
import stat
import tarfile
import tempfile
from typing import IO, Any

from botocore.exceptions import ClientError

from backfill_core.aws_clients import s3
from backfill_core.flows.tasks.internal_storage import MAX_FILE_BYTES, StorageRefused, TaskStorage

MAX_OUTPUT_FILES = 1000


def java_glob(pattern: str) -> re.Pattern[str]:
    """Java's `glob:` syntax, as Kestra matches `outputFiles` against paths relative to the working directory:
    `*` and `?` stay within a folder, `**` crosses folders, `{a,b}` is either, `[...]` a class."""
    out, index, depth = [], 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            if pattern.startswith("**", index):
                out.append(".*")
                index += 1
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                raise ValueError(f"outputFiles: '{pattern}' has an unclosed [")
            body = pattern[index + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    if depth:
        raise ValueError(f"outputFiles: '{pattern}' has an unclosed {{")
    return re.compile("".join(out))


def _patterns(patterns: list[str]) -> list[re.Pattern[str]]:
    """Kestra adds `**/` before a pattern that starts with a word character when it has no base path; with the
    working directory as base it anchors there. Ours is always the working directory."""
    compiled = []
    for pattern in patterns:
        if pattern.startswith(("regex:", "glob:")):
            raise ValueError(f"outputFiles: '{pattern}': only plain glob patterns are supported")
        compiled.append(java_glob(pattern.lstrip("/")))
    return compiled


def matching_files(workdir: str, patterns: list[str]) -> list[str]:
    """The regular files under the working directory (links not followed) whose relative path matches."""
    compiled = _patterns(patterns)
    found = []
    for folder, folders, files in os.walk(workdir, followlinks=False):
        folders.sort()
        for name in sorted(files):
            relative = os.path.relpath(os.path.join(folder, name), workdir)
            if any(pattern.fullmatch(relative) for pattern in compiled):
                found.append(relative)
                if len(found) > MAX_OUTPUT_FILES:
                    raise ValueError(f"outputFiles: more than {MAX_OUTPUT_FILES:,} files match")
    return found


def _open_regular(path: str) -> IO[bytes]:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise ValueError("not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        os.close(descriptor)
        raise ValueError(f"{info.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} a file may have")
    return os.fdopen(descriptor, "rb")


def unique_name(relative: str) -> str:
    """Kestra stores each output file under an id drawn from its path, then its own name."""
    digest = hashlib.sha256(relative.encode(errors="surrogateescape")).hexdigest()[:22]
    return f"{digest}-{os.path.basename(relative)}"


def put_file(storage: TaskStorage, body: IO[bytes] | bytes, name: str) -> str:
    """Store the bytes as the task run's file `name`; its kestra:// URI."""
    uri = storage.uri_for(name)
    s3().put_object(Bucket=storage.bucket, Key=storage.writable_key(uri), Body=body)
    return uri


def upload_output_files(storage: TaskStorage, workdir: str, patterns: list[str]) -> dict[str, str]:
    """Each matching file kept in the internal storage: relative path -> kestra:// URI, as Kestra's outputFiles."""
    uploaded = {}
    found = matching_files(workdir, patterns)
    link = next((relative for relative in found if os.path.islink(os.path.join(workdir, relative))), None)
    if link:
        raise ValueError(f"outputFiles: {link} is a link; only regular files are kept, never a link's target")
    for relative in found:
        try:
            with _open_regular(os.path.join(workdir, relative)) as file:
                uploaded[relative] = put_file(storage, file, unique_name(relative))
        except OSError as exc:
            raise ValueError(f"outputFiles: {relative} cannot be read: {exc.strerror}") from exc
        except ValueError as exc:
            raise ValueError(f"outputFiles: {relative}: {exc}") from exc
    return uploaded


def get_file(storage: TaskStorage, uri: str) -> Any:
    """The streaming body of a file of the task's own flow; StorageRefused when it may not, or does not, exist."""
    key = storage.readable_key(uri)
    try:
        answer = s3().get_object(Bucket=storage.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied", "403"):
            raise StorageRefused(f"'{uri}': no such file in the internal storage") from exc
        raise
    if answer.get("ContentLength", 0) > MAX_FILE_BYTES:
        raise StorageRefused(f"'{uri}' is {answer['ContentLength']:,} bytes, more than a task may read")
    return answer["Body"]


def read_file_into(storage: TaskStorage, uri: str, file: IO[bytes]) -> None:
    body = get_file(storage, uri)
    for chunk in body.iter_chunks(1024 * 1024):
        file.write(chunk)


def restore_working_directory(storage: TaskStorage, workdir: str) -> list[str]:
    """The shared working directory as the WorkingDirectory's last task left it (nothing before its first): its
    folders and regular files only, never a link, nothing outside. The paths made, for the commands to own."""
    if storage.working_directory is None:
        return []
    try:
        body = get_file(storage, storage.working_directory)
    except StorageRefused:
        return []  # the first task of the WorkingDirectory: nothing saved yet
    made = []
    with tempfile.TemporaryFile() as archive:
        for chunk in body.iter_chunks(1024 * 1024):
            archive.write(chunk)
        archive.seek(0)
        with tarfile.open(fileobj=archive, mode="r:gz") as tar:
            for member in tar.getmembers():
                if not (member.isreg() or member.isdir()):
                    continue
                tar.extract(member, workdir, filter="data")
                made.append(os.path.join(workdir, member.name))
    return made


def save_working_directory(storage: TaskStorage, workdir: str) -> None:
    """The working directory kept for the WorkingDirectory's next task: folders and regular files (links and
    special files left out, none followed), at most MAX_FILE_BYTES in all."""
    if storage.working_directory is None:
        return
    total = 0
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for folder, folders, files in os.walk(workdir, followlinks=False):
                folders.sort()
                for name in sorted(folders):
                    path = os.path.join(folder, name)
                    if not os.path.islink(path):
                        tar.add(path, arcname=os.path.relpath(path, workdir), recursive=False)
                for name in sorted(files):
                    path = os.path.join(folder, name)
                    try:
                        file = _open_regular(path)
                    except (OSError, ValueError):
                        continue  # a link, a socket, a FIFO: not part of what the next task gets
                    with file:
                        info = tar.gettarinfo(arcname=os.path.relpath(path, workdir), fileobj=file)
                        total += info.size
                        if total > MAX_FILE_BYTES:
                            raise ValueError(f"the working directory is more than the {MAX_FILE_BYTES:,} bytes kept")
                        tar.addfile(info, file)
        archive.seek(0)
        s3().put_object(Bucket=storage.bucket, Key=storage.writable_key(storage.working_directory), Body=archive)
