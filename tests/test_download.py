"""Downloads against a real HTTP server on 127.0.0.1, and unpacking."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import re
import time
import zipfile
from dataclasses import replace

import pytest

from grnlink.download import DownloadError, download, geo_supplementary_url, manifest_path, resolve_url, unpack
from grnlink.settings import RemoteFile, RetryPolicy

from fault_server import OTHER, PAYLOAD, Remote, fault_server

FAST = RetryPolicy(retries=3, backoff_s=0.01, timeout_s=10)
ONE_TRY = replace(FAST, retries=0)


@pytest.fixture()
def server():
    with fault_server({"/file": Remote(), "/drop": Remote(cut_first=1), "/flaky": Remote(fail_first=2)}) as httpd:
        yield httpd


def url(server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def ranges(server) -> list[tuple[str | None, str | None]]:
    """(Range, If-Range) of every request so far."""
    return [(requested, if_range) for _, requested, if_range in server.requests]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leave_part(server, path: str, dest) -> None:
    """A failed download of `path` that leaves its first half in `<dest>.part`."""
    with pytest.raises(DownloadError, match="giving up after 1 attempts"):
        download(url(server, path), dest, policy=ONE_TRY)
    assert dest.with_name(dest.name + ".part").stat().st_size == len(PAYLOAD) // 2


def test_normal_download_is_verified_and_renamed(server, tmp_path):
    dest = tmp_path / "sub" / "file.bin"
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    download(url(server, "/file"), dest, size=len(PAYLOAD), md5=md5, sha256=sha(PAYLOAD), policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert list(dest.parent.iterdir()) == [dest]


@pytest.mark.parametrize("validator", [{"etag": '"v1"'}, {"etag": None, "last_modified": "Wed, 21 Oct 2015 07:28:00 GMT"}],
                         ids=["etag", "last_modified"])
def test_dropped_connection_resumes_when_the_server_confirms_the_validator(server, tmp_path, caplog, validator):
    server.remotes["/drop"] = Remote(cut_first=1, **validator)
    sent = validator.get("etag") or validator["last_modified"]
    dest = tmp_path / "drop.bin"
    with caplog.at_level(logging.INFO, logger="grnlink.download"):
        download(url(server, "/drop"), dest, sha256=sha(PAYLOAD), policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert ranges(server) == [(None, None), (f"bytes={len(PAYLOAD) // 2}-", sent)]
    assert f"resuming at byte {len(PAYLOAD) // 2}" in caplog.text
    assert list(tmp_path.iterdir()) == [dest]


def test_part_from_another_url_is_restarted_not_spliced(server, tmp_path):
    server.remotes["/new"] = Remote(body=OTHER, etag='"v2"')
    dest = tmp_path / "data.bin"
    leave_part(server, "/drop", dest)
    download(url(server, "/new"), dest, policy=FAST)
    assert dest.read_bytes() == OTHER
    assert server.requests[-1] == ("/new", None, None)


def test_garbage_part_without_record_is_restarted(server, tmp_path, caplog):
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(b"garbage!" * 1000)
    with caplog.at_level(logging.INFO, logger="grnlink.download"):
        download(url(server, "/file"), dest, policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert ranges(server) == [(None, None)]
    assert "restarting from byte 0, not resuming the 8000-byte part: no record of its source" in caplog.text


@pytest.mark.parametrize("honours_if_range", [True, False])
def test_changed_remote_file_restarts_from_byte_zero(server, tmp_path, honours_if_range):
    dest = tmp_path / "data.bin"
    leave_part(server, "/drop", dest)
    server.remotes["/drop"] = Remote(body=OTHER, etag='"v2"', honours_if_range=honours_if_range)
    download(url(server, "/drop"), dest, policy=FAST)
    assert dest.read_bytes() == OTHER
    resumed = (f"bytes={len(PAYLOAD) // 2}-", '"v1"')
    # A server that ignores If-Range sends the range of the new version: refused, fetched again.
    assert ranges(server)[1:] == ([resumed] if honours_if_range else [resumed, (None, None)])


def test_part_without_validator_is_restarted(server, tmp_path):
    server.remotes["/drop"] = Remote(etag=None, cut_first=1)
    dest = tmp_path / "drop.bin"
    download(url(server, "/drop"), dest, policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert ranges(server) == [(None, None), (None, None)]


def gzip_archive() -> bytes:
    return gzip.compress(OTHER[:300_000])


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("table.csv", OTHER[:300_000])
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "archive"), [("data.csv.gz", gzip_archive), ("nets.zip", zip_archive)])
def test_archive_cut_short_without_content_length_is_fetched_again(server, tmp_path, name, archive):
    body = archive()
    server.remotes["/archive"] = Remote(body=body, content_length=False, cut_first=2, cut_after=len(body) // 2)
    dest = tmp_path / name
    download(url(server, "/archive"), dest, policy=FAST)
    assert dest.read_bytes() == body
    assert ranges(server) == [(None, None)] * 3  # restarted, never resumed
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, name + ".manifest.json"]


def test_archive_always_cut_short_fails_naming_file_and_url(server, tmp_path):
    body = gzip_archive()
    server.remotes["/archive"] = Remote(body=body, content_length=False, cut_first=99, cut_after=len(body) // 2)
    dest = tmp_path / "data.csv.gz"
    expected = re.escape(f"{dest}: {url(server, '/archive')}: giving up after 2 attempts: the received .gz file "
                         "is incomplete or corrupt")
    with pytest.raises(DownloadError, match=expected):
        download(url(server, "/archive"), dest, policy=replace(FAST, retries=1))
    assert list(tmp_path.iterdir()) == []


def test_corrupt_local_archive_fails_without_retry(tmp_path):
    source = tmp_path / "broken.csv.gz"
    source.write_bytes(gzip_archive()[:1000])
    started = time.monotonic()
    with pytest.raises(DownloadError, match="copy.csv.gz: file:.*broken.csv.gz: the received .gz file is incomplete"):
        download(source.as_uri(), tmp_path / "copy.csv.gz", policy=replace(FAST, retries=5, backoff_s=5))
    assert time.monotonic() - started < 4


def test_manifest_records_the_first_download_and_reports_a_changed_file(server, tmp_path):
    dest = tmp_path / "file.bin"
    download(url(server, "/file"), dest, policy=FAST)
    recorded = json.loads(manifest_path(dest).read_text())
    assert recorded | {"recorded": None} == {"url": url(server, "/file"), "size": len(PAYLOAD), "sha256": sha(PAYLOAD),
                                             "recorded": None}
    dest.unlink()
    server.remotes["/file"] = Remote(body=OTHER)
    with pytest.raises(DownloadError) as failure:
        download(url(server, "/file"), dest, policy=FAST)
    message = str(failure.value)
    assert message.startswith(f"{dest}: {url(server, '/file')}: ")
    assert f"expected sha256 {sha(PAYLOAD)}" in message and f"found sha256 {sha(OTHER)}" in message
    assert f"delete {manifest_path(dest)}" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin.manifest.json"]
    server.remotes["/file"] = Remote()
    download(url(server, "/file"), dest, policy=FAST)
    assert dest.read_bytes() == PAYLOAD


def test_progress_resets_the_retry_count(server, tmp_path):
    step = len(PAYLOAD) // 8
    server.remotes["/trickle"] = Remote(cut_first=10**6, cut_after=step)
    dest = tmp_path / "trickle.bin"
    download(url(server, "/trickle"), dest, sha256=sha(PAYLOAD), policy=replace(FAST, retries=2))
    assert dest.read_bytes() == PAYLOAD
    assert ranges(server) == [(None, None)] + [(f"bytes={i * step}-", '"v1"') for i in range(1, 8)]


def test_endless_trickle_stops_after_the_most_attempts(server, tmp_path):
    server.remotes["/trickle"] = Remote(cut_first=10**6, cut_after=1000)
    with pytest.raises(DownloadError, match="giving up after 40 attempts, the most for retries=1"):
        download(url(server, "/trickle"), tmp_path / "trickle.bin", policy=replace(FAST, retries=1))
    assert len(server.requests) == 40


def test_server_errors_are_retried(server, tmp_path):
    dest = tmp_path / "flaky.bin"
    download(url(server, "/flaky"), dest, size=len(PAYLOAD), policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, *_ in server.requests] == ["/flaky"] * 3


def test_too_many_server_errors_give_up(server, tmp_path):
    with pytest.raises(DownloadError, match="giving up after 2 attempts.*HTTP 503"):
        download(url(server, "/flaky"), tmp_path / "f.bin", policy=replace(FAST, retries=1))


def test_not_found_fails_at_once(server, tmp_path):
    dest = tmp_path / "missing.bin"
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"/missing: HTTP 404 .*not retried"):
        download(url(server, "/missing"), dest, policy=replace(FAST, retries=5, backoff_s=5))
    assert time.monotonic() - started < 4
    assert len(server.requests) == 1
    assert not dest.exists()


@pytest.mark.parametrize("check", [{"md5": "0" * 32}, {"sha256": "f" * 64}, {"size": 12}])
def test_verification_failure_leaves_no_file(server, tmp_path, check):
    dest = tmp_path / "file.bin"
    with pytest.raises(DownloadError, match="mismatch"):
        download(url(server, "/file"), dest, policy=FAST, **check)
    assert list(tmp_path.iterdir()) == []


def test_file_urls_are_copied(tmp_path):
    source = tmp_path / "source.txt"
    source.write_bytes(b"a,b\n1,2\n")
    dest = tmp_path / "out" / "copy.txt"
    download(source.as_uri(), dest, md5=hashlib.md5(b"a,b\n1,2\n").hexdigest(), policy=FAST)
    assert dest.read_bytes() == b"a,b\n1,2\n"


def test_missing_local_file_fails_without_retry(tmp_path):
    with pytest.raises(DownloadError, match="nothing.txt"):
        download((tmp_path / "nothing.txt").as_uri(), tmp_path / "x", policy=replace(FAST, retries=5, backoff_s=5))


def test_unsupported_scheme_is_named(tmp_path):
    with pytest.raises(DownloadError, match="unsupported scheme 's3'"):
        download("s3://bucket/key", tmp_path / "x", policy=FAST)


def test_geo_accession_resolves_to_supplementary_url():
    assert geo_supplementary_url("GSE75748", "GSE75748_sc_time_course_ec.csv.gz") == (
        "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE75nnn/GSE75748/suppl/GSE75748_sc_time_course_ec.csv.gz")
    assert geo_supplementary_url("GSE123", "a.txt").endswith("/GSEnnn/GSE123/suppl/a.txt")
    assert resolve_url("x.zip", RemoteFile(url="https://zenodo.org/x.zip", md5="1")) == "https://zenodo.org/x.zip"
    assert resolve_url("a.txt", RemoteFile(geo="GSE123")) == geo_supplementary_url("GSE123", "a.txt")
    with pytest.raises(ValueError, match="give either `url` or `geo`"):
        resolve_url("a.txt", RemoteFile(size=3))
    assert RemoteFile(geo="GSE123", size=3, sha256="ab").checks() == {"size": 3, "sha256": "ab"}
    with pytest.raises(ValueError, match="not a GEO series"):
        geo_supplementary_url("GSM1189042", "a.txt")


def test_unpack_gz_and_zip(tmp_path):
    gz = tmp_path / "table.csv.gz"
    gz.write_bytes(gzip.compress(b"x,y\n1,2\n"))
    out = unpack(gz, tmp_path / "unpacked" / gz.name)
    assert (out / "table.csv").read_bytes() == b"x,y\n1,2\n"
    archive = tmp_path / "nets.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Networks/mouse/mDC.csv", "Gene1,Gene2\nA,B\n")
        zipped.writestr("mouse-tfs.csv", "TF\nA\n")
    out = unpack(archive, tmp_path / "unpacked" / archive.name)
    assert (out / "Networks" / "mouse" / "mDC.csv").read_text() == "Gene1,Gene2\nA,B\n"
    assert sorted(p.name for p in (tmp_path / "unpacked").iterdir()) == ["nets.zip", "table.csv.gz"]


def test_unpack_rejects_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.txt", "x")
    with pytest.raises(DownloadError, match="outside the target"):
        unpack(archive, tmp_path / "unpacked" / "evil")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "unpacked").iterdir()) == []


def test_corrupt_gzip_fails_and_leaves_nothing(tmp_path):
    gz = tmp_path / "broken.csv.gz"
    gz.write_bytes(gzip.compress(b"x" * 1000)[:15])
    with pytest.raises(DownloadError, match="not a valid gzip"):
        unpack(gz, tmp_path / "unpacked" / gz.name)
    assert list((tmp_path / "unpacked").iterdir()) == []


def test_download_section_schema_fills_defaults_and_rejects_bad_entries(repo_root):
    from snakemake.utils import validate
    from snakemake_interface_common.exceptions import WorkflowError

    schema = str(repo_root / "workflow" / "schemas" / "download.schema.yaml")
    section = {"files": {"a.csv.gz": {"geo": "GSE75748", "md5": "d41d8cd98f00b204e9800998ecf8427e"}}}
    validate(section, schema)
    assert (section["retries"], section["backoff_s"], section["timeout_s"]) == (5, 2, 60)
    for bad in ({"geo": "GSE1", "url": "https://x/a"}, {"geo": "GSM1"}, {"url": "s3://b/k"},
                {"url": "https://x/a", "md5": "xyz"}, {"url": "https://x/a", "sha1": "0" * 40}):
        with pytest.raises(WorkflowError):
            validate({"files": {"a.txt": bad}}, schema)
