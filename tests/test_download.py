"""Downloads against a real HTTP server on 127.0.0.1, and unpacking."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grnlink.download import DownloadError, download, geo_supplementary_url, resolve_url, unpack
from grnlink.settings import RemoteFile, RetryPolicy

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, not a multiple of the read chunk boundaries below
FAST = RetryPolicy(retries=3, backoff_s=0.01, timeout_s=10)


class Handler(BaseHTTPRequestHandler):
    """Behaviour by path: /file, /drop (cuts the first answer), /flaky (500 twice), else 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        calls = sum(1 for path, _ in server.requests if path == self.path)
        if self.path == "/flaky" and calls <= 2:
            self.send_error(500, "server trouble")
            return
        if self.path not in ("/file", "/drop", "/flaky"):
            self.send_error(404, "no such file")
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        body = PAYLOAD[start:]
        if self.path == "/drop" and calls == 1:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_normal_download_is_verified_and_renamed(server, tmp_path):
    dest = tmp_path / "sub" / "file.bin"
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    download(url(server, "/file"), dest, size=len(PAYLOAD), md5=md5, sha256=sha, policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert list(dest.parent.iterdir()) == [dest]


def test_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    dest = tmp_path / "drop.bin"
    download(url(server, "/drop"), dest, sha256=hashlib.sha256(PAYLOAD).hexdigest(), policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/drop", None), ("/drop", f"bytes={len(PAYLOAD) // 2}-")]


def test_server_errors_are_retried(server, tmp_path):
    dest = tmp_path / "flaky.bin"
    download(url(server, "/flaky"), dest, size=len(PAYLOAD), policy=FAST)
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, _ in server.requests] == ["/flaky"] * 3


def test_too_many_server_errors_give_up(server, tmp_path):
    with pytest.raises(DownloadError, match="giving up after 2 attempts.*HTTP 500"):
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
