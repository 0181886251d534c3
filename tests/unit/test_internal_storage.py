"""Kestra's internal storage layout (its StorageContext and Slugify), the files a task may read or write, the
`outputFiles` globs as Java's glob matches them, and S3 Upload's `from` as Kestra reads it."""

import pytest

from backfill_core.flows.tasks.internal_storage import (
    StorageRefused,
    TaskStorage,
    execution_prefix,
    object_key,
    slugify,
    uri_path,
    working_directory_uri,
)
from backfill_core.flows.tasks.s3_tasks import upload_sources
from backfill_core.flows.tasks.storage_files import java_glob, matching_files, unique_name, upload_output_files

STORAGE = TaskStorage(
    bucket="files-bucket",
    tenant="main",
    namespace="company.team",
    flow_id="Daily_Export",
    execution_id="exec1",
    task_id="write_csv",
    task_run_id="run1",
)


@pytest.mark.parametrize(
    ("text", "slug"),
    [("Daily_Export", "daily-export"), ("my flow  id", "my-flow-id"), ("-édition_", "edition"), ("a--b", "a-b")],
)
def test_ids_are_slugified_as_kestra_slugifies_them(text, slug):
    assert slugify(text) == slug


def test_a_task_runs_files_sit_where_kestra_puts_them():
    assert STORAGE.uri_for("out/day.csv") == (
        "kestra:///company/team/daily-export/executions/exec1/tasks/write-csv/run1/out/day.csv"
    )
    assert object_key("main", STORAGE.uri_for("a.txt")) == (
        "files/main/company/team/daily-export/executions/exec1/tasks/write-csv/run1/a.txt"
    )
    assert execution_prefix("company.team", "Daily_Export", "exec1") == "/company/team/daily-export/executions/exec1/"
    assert working_directory_uri("a.b", "f", "e", "wd", "r").endswith(
        "/a/b/f/executions/e/tasks/wd/r/working-directory.tar.gz"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/key",
        "kestra://host/path",
        "kestra:////double",
        "kestra:///a/../b",
        "kestra:///a/./b",
        "kestra:///a//b",
        "kestra:///a/b?x=1",
        "kestra:///a/\0",
    ],
)
def test_a_uri_that_is_not_a_plain_internal_storage_path_is_refused(uri):
    with pytest.raises(StorageRefused):
        uri_path(uri)


def test_a_task_reads_its_own_flows_files_only():
    own = "kestra:///company/team/daily-export/executions/earlier/tasks/t/r/a.csv"
    assert STORAGE.readable_key(own) == "files/main" + own.removeprefix("kestra://")
    for other in (
        "kestra:///company/team/other-flow/executions/e/tasks/t/r/a.csv",
        "kestra:///company/daily-export/executions/e/tasks/t/r/a.csv",
        "kestra:///other/team/daily-export/executions/e/tasks/t/r/a.csv",
    ):
        with pytest.raises(StorageRefused, match="only its own flow"):
            STORAGE.readable_key(other)


def test_a_task_writes_under_its_own_task_run_only():
    with pytest.raises(StorageRefused):
        STORAGE.writable_key("kestra:///company/team/daily-export/executions/exec1/tasks/other/run9/a.csv")
    with pytest.raises(StorageRefused):
        STORAGE.uri_for("../escape.csv")


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.csv", ["a.csv"], ["dir/a.csv", "a.csvx"]),
        ("**.csv", ["a.csv", "dir/deep/a.csv"], ["a.txt"]),
        ("out/**", ["out/a", "out/b/c"], ["other/a"]),
        ("{a,b}.txt", ["a.txt", "b.txt"], ["c.txt"]),
        ("file?.[!x]*", ["file1.csv"], ["file1.xml", "file12.csv"]),
    ],
)
def test_output_files_globs_match_as_javas_glob_does(pattern, matches, misses):
    compiled = java_glob(pattern)
    assert all(compiled.fullmatch(path) for path in matches)
    assert not any(compiled.fullmatch(path) for path in misses)


def test_output_files_are_regular_files_and_a_link_fails_the_task(tmp_path):
    (tmp_path / "a.csv").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("b")
    (tmp_path / "secret.csv").symlink_to("/etc/passwd")
    assert matching_files(str(tmp_path), ["a.csv"]) == ["a.csv"]
    assert matching_files(str(tmp_path), ["**/*.csv"]) == ["sub/b.csv"]
    with pytest.raises(ValueError, match="secret.csv is a link; only regular files are kept"):
        upload_output_files(STORAGE, str(tmp_path), ["*.csv"])  # refused before anything is stored
    assert unique_name("sub/b.csv").endswith("-b.csv") and unique_name("sub/b.csv") != unique_name("b.csv")


def test_uploads_from_is_a_uri_a_list_or_a_map_of_them():
    one = "kestra:///n/f/executions/e/tasks/t/r/day.csv"
    assert upload_sources(one) == {"day.csv": one}
    assert upload_sources([one]) == {"day.csv": one}
    assert upload_sources(f'{{"renamed.csv": "{one}"}}') == {"renamed.csv": one}
    for bad in ("/etc/passwd", "https://example.com/x", [], {}):
        with pytest.raises(ValueError, match="from"):
            upload_sources(bad)
