"""Kestra's AWS S3 tasks (plugin-aws: Upload, Download, List, Copy, Delete), their documented properties and
their checks. They run in the task runner with its own role (tasks/aws_connection.py). Only names and checks
live here, shared by the engine and the runner."""

from typing import Any

from backfill_core.flows.tasks.aws_connection import AWS_CONNECTION

S3_UPLOAD = "io.kestra.plugin.aws.s3.Upload"
S3_DOWNLOAD = "io.kestra.plugin.aws.s3.Download"
S3_LIST = "io.kestra.plugin.aws.s3.List"
S3_COPY = "io.kestra.plugin.aws.s3.Copy"
S3_DELETE = "io.kestra.plugin.aws.s3.Delete"
S3_TASK_TYPES = (S3_UPLOAD, S3_DOWNLOAD, S3_LIST, S3_COPY, S3_DELETE)

LATER = "not supported yet"

OBJECT = {**AWS_CONNECTION, "bucket": None, "requestPayer": None}
LISTING = {
    "prefix": None,
    "delimiter": None,
    "marker": None,
    "maxKeys": None,
    "regexp": None,
    "maxFiles": None,
    "expectedBucketOwner": None,
}
S3_PROPERTIES: dict[str, dict[str, str | None]] = {
    S3_UPLOAD: {
        **OBJECT,
        "from": None,
        "key": None,
        "metadata": None,
        "cacheControl": None,
        "contentType": None,
        "contentEncoding": None,
        "contentDisposition": None,
        "contentLanguage": None,
        "contentLength": "not supported: the length is the file's own",
        "expires": None,
        "acl": None,
        "storageClass": None,
        "serverSideEncryption": None,
        "bucketKeyEnabled": None,
        "checksumAlgorithm": None,
        "checksum": LATER,
        "expectedBucketOwner": None,
        "objectLockMode": None,
        "objectLockLegalHoldStatus": None,
        "objectLockRetainUntilDate": None,
        "tagging": None,
        "concurrentUploads": None,  # an upper bound: files are uploaded one after another
    },
    S3_DOWNLOAD: {**OBJECT, **LISTING, "key": None, "versionId": None, "validateChecksum": None},
    S3_LIST: {**OBJECT, **LISTING, "encodingType": None, "filter": None},
    S3_COPY: {**AWS_CONNECTION, "from": None, "to": None, "delete": None},
    S3_DELETE: {**OBJECT, "key": None, "bypassGovernanceRetention": None, "mfa": None},
}
COPY_OBJECT = ("bucket", "key", "serverSideEncryption", "kmsKeyId")
LIST_FILTERS = ("FILES", "DIRECTORY", "BOTH")


def _text(props: dict[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None or (isinstance(value, str) and value.strip()):
        return None
    return f"{name}: a non-empty string is required"


def _required(props: dict[str, Any], *names: str) -> str | None:
    for name in names:
        if props.get(name) in (None, ""):
            return f"{name}: is required"
    return None


def validate_s3_task(task_type: str, props: dict[str, Any]) -> str | None:
    """The first problem with an S3 task's properties as `field: problem`, or None. Values may be expressions,
    so only what is known before rendering is checked here; the runner checks the rendered values."""
    if task_type == S3_COPY:
        for side in ("from", "to"):
            place = props.get(side)
            if not isinstance(place, dict):
                return f"{side}: a map of bucket and key is required"
            allowed = (*COPY_OBJECT, "versionId") if side == "from" else COPY_OBJECT
            unknown = next((name for name in place if name not in allowed), None)
            if unknown:
                return f"{side}.{unknown}: not a property of an S3 object here ({', '.join(allowed)})"
            problem = _required(place, "bucket", "key")
            if problem:
                return f"{side}.{problem}"
        return None
    problem = _required(props, "bucket") or _text(props, "region")
    if problem:
        return problem
    if task_type == S3_UPLOAD:
        return _required(props, "from", "key")
    if task_type == S3_DELETE:
        return _required(props, "key")
    selectors = ("key", "prefix", "regexp", "delimiter")
    if task_type == S3_DOWNLOAD and all(props.get(name) is None for name in selectors):
        return "key: give key for one object, or prefix, delimiter or regexp for several"
    filter_ = props.get("filter")
    if task_type == S3_LIST and isinstance(filter_, str) and "{{" not in filter_ and filter_ not in LIST_FILTERS:
        return f"filter: one of {', '.join(LIST_FILTERS)}"
    return None
