"""The task runner's side of Kestra's S3 tasks: each call made with the runner's own role (its credentials from
the environment Lambda gives it, never the flow's), files passed through the internal storage as Kestra does
(Upload's `from` are kestra:// URIs; Download's objects become kestra:// files), outputs named as Kestra's."""

import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any
from urllib.parse import urlencode

from botocore.config import Config

from backfill_core.aws_clients import client, s3
from backfill_core.flows.tasks.internal_storage import MAX_FILE_BYTES, SCHEME, StorageRefused, TaskStorage
from backfill_core.flows.tasks.s3_types import S3_COPY, S3_DELETE, S3_DOWNLOAD, S3_LIST, S3_UPLOAD
from backfill_core.flows.tasks.script_types import flag
from backfill_core.flows.tasks.storage_files import get_file, put_file

Log = Callable[[str, str], None]
PAGE = 1000
# Upload's property -> put_object's parameter, for the ones passed as they are.
UPLOAD_PARAMETERS = {
    "cacheControl": "CacheControl",
    "contentType": "ContentType",
    "contentEncoding": "ContentEncoding",
    "contentDisposition": "ContentDisposition",
    "contentLanguage": "ContentLanguage",
    "acl": "ACL",
    "storageClass": "StorageClass",
    "serverSideEncryption": "ServerSideEncryption",
    "checksumAlgorithm": "ChecksumAlgorithm",
    "expectedBucketOwner": "ExpectedBucketOwner",
    "objectLockMode": "ObjectLockMode",
    "objectLockLegalHoldStatus": "ObjectLockLegalHoldStatus",
    "requestPayer": "RequestPayer",
}


def _client(props: dict[str, Any]) -> Any:
    region = props.get("region")
    if not region:
        return s3()
    return client("s3", Config(retries={"mode": "standard"}), str(region))


def _number(props: dict[str, Any], name: str, default: int) -> int:
    try:
        value = int(props.get(name, default))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: '{props.get(name)}' is not a whole number") from exc
    if value < 1:
        raise ValueError(f"{name}: must be at least 1")
    return value


def _payer(props: dict[str, Any]) -> dict[str, Any]:
    return {"RequestPayer": str(props["requestPayer"])} if props.get("requestPayer") else {}


def _instant(props: dict[str, Any], name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(props[name]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{name}: '{props[name]}' is not an ISO-8601 instant") from exc


def upload_sources(value: Any) -> dict[str, str]:
    """Upload's `from`: one kestra:// URI, a list of them (each named by its file name), a map of names to
    URIs, or either as JSON text, as Kestra reads it."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"from: not valid JSON: {exc}") from exc
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        value = {str(uri).rsplit("/", 1)[-1]: uri for uri in value}
    if not isinstance(value, dict) or not value:
        raise ValueError("from: a kestra:// URI, or a non-empty list or map of them, is required")
    for uri in value.values():
        if not isinstance(uri, str) or not uri.startswith(SCHEME):
            raise ValueError(f"from: '{uri}' is not an internal-storage file (kestra:///...)")
    return {str(name): str(uri) for name, uri in value.items()}


def _spooled(storage: TaskStorage, uri: str) -> IO[bytes]:
    """The file, read from the internal storage into a temporary file (S3 needs its length before the body)."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    for chunk in get_file(storage, uri).iter_chunks(1024 * 1024):
        file.write(chunk)
    file.seek(0)
    return file


def _upload(props: dict[str, Any], storage: TaskStorage, log: Log) -> dict[str, Any]:
    client, bucket, key = _client(props), str(props["bucket"]), str(props["key"])
    sources = upload_sources(props["from"])
    _number(props, "concurrentUploads", 50)
    extra: dict[str, Any] = {UPLOAD_PARAMETERS[name]: str(props[name]) for name in UPLOAD_PARAMETERS if props.get(name)}
    if props.get("metadata"):
        extra["Metadata"] = {str(k): str(v) for k, v in dict(props["metadata"]).items()}
    if props.get("tagging"):
        extra["Tagging"] = urlencode({str(k): str(v) for k, v in dict(props["tagging"]).items()})
    if props.get("bucketKeyEnabled") is not None:
        extra["BucketKeyEnabled"] = flag(props, "bucketKeyEnabled", False)
    for name, parameter in (("expires", "Expires"), ("objectLockRetainUntilDate", "ObjectLockRetainUntilDate")):
        if props.get(name):
            extra[parameter] = _instant(props, name)
    files = {}
    for name, uri in sources.items():
        target = key if len(sources) == 1 else f"{key.rstrip('/')}/{name}"
        with _spooled(storage, uri) as body:
            size = os.fstat(body.fileno()).st_size
            answer = client.put_object(Bucket=bucket, Key=target, Body=body, **extra)
        log("DEBUG", f"Uploaded {uri} to s3://{bucket}/{target}")
        files[name] = {"eTag": answer.get("ETag"), "versionId": answer.get("VersionId"), "contentLength": size}
    if len(sources) == 1:
        (only,) = files.values()
        return {"bucket": bucket, "key": key, "eTag": only["eTag"], "versionId": only["versionId"]}
    return {"bucket": bucket, "key": key, "files": files}


def _list(props: dict[str, Any], log: Log) -> list[dict[str, Any]]:
    """Kestra's S3 List: every page up to maxKeys, then regexp and filter, then the first maxFiles."""
    client, max_keys = _client(props), _number(props, "maxKeys", 1000)
    request: dict[str, Any] = {"Bucket": str(props["bucket"]), "MaxKeys": min(max_keys, PAGE), **_payer(props)}
    for name, parameter in (
        ("prefix", "Prefix"),
        ("delimiter", "Delimiter"),
        ("marker", "StartAfter"),
        ("encodingType", "EncodingType"),
        ("expectedBucketOwner", "ExpectedBucketOwner"),
    ):
        if props.get(name) is not None:
            request[parameter] = str(props[name])
    found: list[dict[str, Any]] = []
    while True:
        answer = client.list_objects_v2(**request)
        found += answer.get("Contents", [])
        if len(found) >= max_keys or not answer.get("IsTruncated") or not answer.get("NextContinuationToken"):
            break
        request["ContinuationToken"] = answer["NextContinuationToken"]
    pattern = re.compile(str(props["regexp"])) if props.get("regexp") is not None else None
    kind = str(props.get("filter") or "BOTH").upper()
    objects = []
    for item in found[:max_keys]:
        key = item["Key"]
        folder = key.endswith("/")
        if pattern and not pattern.fullmatch(key):
            continue
        if (kind == "FILES" and folder) or (kind == "DIRECTORY" and not folder):
            continue
        entry = {"key": key, "etag": item.get("ETag"), "size": item.get("Size")}
        if item.get("LastModified"):
            entry["lastModified"] = item["LastModified"].isoformat().replace("+00:00", "Z")
        if item.get("Owner"):
            entry["owner"] = {"id": item["Owner"].get("ID"), "displayName": item["Owner"].get("DisplayName")}
        objects.append(entry)
    max_files = _number(props, "maxFiles", 25)
    if len(objects) > max_files:
        log("WARN", f"Listing returned {len(objects)} files but maxFiles is {max_files}: only the first are kept")
    return objects[:max_files]


def _download_one(props: dict[str, Any], storage: TaskStorage, key: str) -> dict[str, Any]:
    request: dict[str, Any] = {"Bucket": str(props["bucket"]), "Key": key, **_payer(props)}
    if props.get("versionId"):
        request["VersionId"] = str(props["versionId"])
    if props.get("expectedBucketOwner"):
        request["ExpectedBucketOwner"] = str(props["expectedBucketOwner"])
    if props.get("validateChecksum") is not None and flag(props, "validateChecksum", False):
        request["ChecksumMode"] = "ENABLED"
    answer = _client(props).get_object(**request)
    if answer.get("ContentLength", 0) > MAX_FILE_BYTES:
        raise ValueError(
            f"s3://{props['bucket']}/{key} is {answer['ContentLength']:,} bytes, more than a task may keep"
        )
    extension = os.path.splitext(key)[1]
    with tempfile.TemporaryFile() as file:
        for chunk in answer["Body"].iter_chunks(1024 * 1024):
            file.write(chunk)
        file.seek(0)
        uri = put_file(storage, file, f"{uuid.uuid4().hex[:22]}{extension}")
    return {
        "uri": uri,
        "eTag": answer.get("ETag"),
        "contentLength": answer.get("ContentLength"),
        "contentType": answer.get("ContentType"),
        "metadata": answer.get("Metadata") or {},
        "versionId": answer.get("VersionId"),
    }


def _download(props: dict[str, Any], storage: TaskStorage, log: Log) -> dict[str, Any]:
    if props.get("key") is not None and all(props.get(n) is None for n in ("prefix", "delimiter", "regexp")):
        return _download_one(props, storage, str(props["key"]))
    listed = _list({"maxFiles": 25, **props}, log)
    if not listed:
        log("WARN", "No objects found matching the filter criteria")
    return {"files": {item["key"]: _download_one(props, storage, item["key"]) for item in listed}}


def _copy(props: dict[str, Any]) -> dict[str, Any]:
    source, target = dict(props["from"]), dict(props["to"])
    request: dict[str, Any] = {
        "Bucket": str(target["bucket"]),
        "Key": str(target["key"]),
        "CopySource": {"Bucket": str(source["bucket"]), "Key": str(source["key"])},
    }
    if source.get("versionId"):
        request["CopySource"]["VersionId"] = str(source["versionId"])
    if target.get("serverSideEncryption"):
        request["ServerSideEncryption"] = "aws:kms" if target["serverSideEncryption"] == "AWS_KMS" else "AES256"
    if target.get("kmsKeyId"):
        request["SSEKMSKeyId"] = str(target["kmsKeyId"])
    client = _client(props)
    answer = client.copy_object(**request)
    if props.get("delete") is not None and flag(props, "delete", False):
        client.delete_object(Bucket=str(source["bucket"]), Key=str(source["key"]))
    return {
        "bucket": request["Bucket"],
        "key": request["Key"],
        "eTag": answer.get("CopyObjectResult", {}).get("ETag"),
        "versionId": answer.get("VersionId"),
    }


def _delete(props: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"Bucket": str(props["bucket"]), "Key": str(props["key"]), **_payer(props)}
    if props.get("bypassGovernanceRetention") is not None:
        request["BypassGovernanceRetention"] = flag(props, "bypassGovernanceRetention", False)
    if props.get("mfa"):
        request["MFA"] = str(props["mfa"])
    answer = _client(props).delete_object(**request)
    return {
        "versionId": answer.get("VersionId"),
        "deleteMarker": answer.get("DeleteMarker"),
        "requestCharged": answer.get("RequestCharged"),
    }


def _without_nulls(value: Any) -> Any:
    """Kestra writes outputs without their null fields (an object's versionId when the bucket keeps none)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def run_s3_task(task_type: str, props: dict[str, Any], storage: TaskStorage | None, log: Log) -> dict[str, Any]:
    """Run the task with rendered properties; its outputs, without null fields as Kestra writes them. A refused
    or failed call raises ValueError, StorageRefused or botocore's errors: the runner fails the task with it."""
    return _without_nulls(_run(task_type, props, storage, log))


def _buckets(task_type: str, props: dict[str, Any]) -> list[str]:
    if task_type == S3_COPY:
        return [str(dict(props[side]).get("bucket")) for side in ("from", "to")]
    return [str(props.get("bucket"))]


def _run(task_type: str, props: dict[str, Any], storage: TaskStorage | None, log: Log) -> dict[str, Any]:
    if task_type in (S3_UPLOAD, S3_DOWNLOAD) and storage is None:
        raise StorageRefused("the internal storage is not given to this task")
    if storage is not None and storage.bucket in _buckets(task_type, props):
        # The runner's role reaches every flow's files there: a flow reaches its own through kestra:// URIs.
        raise StorageRefused(
            f"bucket: '{storage.bucket}' holds Kestra's internal storage; use kestra:// URIs (inputFiles, "
            "outputFiles, Upload's from, Download's uri) rather than S3 tasks on it"
        )
    if task_type == S3_UPLOAD:
        return _upload(props, storage, log)  # type: ignore[arg-type]
    if task_type == S3_DOWNLOAD:
        return _download(props, storage, log)  # type: ignore[arg-type]
    if task_type == S3_LIST:
        return {"objects": _list(props, log)}
    if task_type == S3_COPY:
        return _copy(props)
    if task_type == S3_DELETE:
        return _delete(props)
    raise ValueError(f"not an S3 task: {task_type}")
