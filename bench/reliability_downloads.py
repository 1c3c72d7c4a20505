"""Download fault probes against a local HTTP server on 127.0.0.1 (grnlink.download).

Usage: python bench/reliability_downloads.py   (prints one markdown table row per probe)

Every probe serves a file with one fault (a dropped connection, 5xx answers, a changed or
moved file, a leftover part, a body cut short without Content-Length, ...), runs
`grnlink.download.download` on it in a fresh directory and checks the outcome: the right
bytes under the final name, or a DownloadError naming the file, and the requests sent.
Standard library and grnlink only; runs in a few seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fault_server import OTHER, PAYLOAD, Remote, fault_server  # noqa: E402

from grnlink.download import DownloadError, download  # noqa: E402
from grnlink.settings import RetryPolicy  # noqa: E402

ARCHIVE = gzip.compress(PAYLOAD[:300_000])
POLICY = RetryPolicy(retries=3, backoff_s=0.01, timeout_s=10)
ONE_TRY = replace(POLICY, retries=0)
HALF = len(PAYLOAD) // 2


@dataclass
class Trial:
    """One probe's server, directory and destination file."""

    server: ThreadingHTTPServer
    folder: Path
    dest: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def fetch(self, path: str, policy: RetryPolicy = POLICY, **checks) -> str:
        """Download `path` to the destination; the outcome in words."""
        try:
            download(self.url(path), self.dest, policy=policy, **checks)
        except DownloadError as err:
            return f"DownloadError: {self.shorten(str(err))}"
        correct = {PAYLOAD: "the file", OTHER: "the new file", ARCHIVE: "the archive"}.get(self.dest.read_bytes())
        return f"{correct or 'WRONG BYTES'}; requests: {self.requests()}"

    def requests(self) -> str:
        return ", ".join(f"range from {r.removeprefix('bytes=').rstrip('-')}" + (" + If-Range" if i else "")
                         if r else "whole" for _, r, i in self.server.requests)

    def shorten(self, message: str) -> str:
        return message.replace(str(self.folder) + "/", "").replace(self.url(""), "")

    def leave_part(self, path: str) -> None:
        """A failed try at `path` that leaves half the file in the part (and its record)."""
        self.fetch(path, ONE_TRY)
        self.server.requests.clear()


@dataclass(frozen=True)
class Probe:
    """A fault, what should happen, how to run it and how to judge the outcome."""

    name: str
    expected: str
    run: Callable[[Trial], str]
    passed: Callable[[str, Trial], bool]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def drop_mid_file(trial: Trial) -> str:
    trial.server.remotes["/f"] = Remote(cut_first=1)
    return trial.fetch("/f", sha256=sha(PAYLOAD))


def server_errors_then_success(trial: Trial) -> str:
    trial.server.remotes["/f"] = Remote(fail_first=2)
    return trial.fetch("/f", sha256=sha(PAYLOAD))


def not_found(trial: Trial) -> str:
    return trial.fetch("/missing", replace(POLICY, retries=5))


def md5_mismatch(trial: Trial) -> str:
    trial.server.remotes["/f"] = Remote()
    return trial.fetch("/f", md5="0" * 32)


def url_changed(trial: Trial) -> str:
    trial.server.remotes.update({"/old": Remote(cut_first=1), "/new": Remote(body=OTHER, etag='"v2"')})
    trial.leave_part("/old")
    return trial.fetch("/new")


def garbage_part(trial: Trial) -> str:
    trial.server.remotes["/f"] = Remote()
    trial.dest.with_name(trial.dest.name + ".part").write_bytes(b"garbage!" * 1000)
    return trial.fetch("/f")


def changed_remote(honours_if_range: bool) -> Callable[[Trial], str]:
    def run(trial: Trial) -> str:
        trial.server.remotes["/f"] = Remote(cut_first=1)
        trial.leave_part("/f")
        trial.server.remotes["/f"] = Remote(body=OTHER, etag='"v2"', honours_if_range=honours_if_range)
        return trial.fetch("/f")

    return run


def archive_cut_short(cuts: int) -> Callable[[Trial], str]:
    def run(trial: Trial) -> str:
        trial.dest = trial.folder / "data.csv.gz"
        trial.server.remotes["/a.gz"] = Remote(body=ARCHIVE, content_length=False, cut_first=cuts,
                                               cut_after=len(ARCHIVE) // 2)
        return trial.fetch("/a.gz", replace(POLICY, retries=2))

    return run


def changed_without_checksum(trial: Trial) -> str:
    trial.server.remotes["/f"] = Remote()
    trial.fetch("/f")
    trial.dest.unlink()
    trial.server.remotes["/f"] = Remote(body=OTHER, etag='"v2"')
    return trial.fetch("/f")


def trickle(cut_after: int) -> Callable[[Trial], str]:
    def run(trial: Trial) -> str:
        trial.server.remotes["/f"] = Remote(cut_first=10**6, cut_after=cut_after)
        return trial.fetch("/f", replace(POLICY, retries=2))

    return run


def in_dest(*names: str) -> Callable[[Trial], bool]:
    """The destination folder holds exactly these files (the download's own first)."""
    return lambda trial: sorted(p.name for p in trial.folder.iterdir()) == sorted(names)


PROBES = (
    Probe("drop mid-file", "resumed from the cut with If-Range; file correct",
          drop_mid_file, lambda out, t: out == f"the file; requests: whole, range from {HALF} + If-Range"),
    Probe("HTTP 503 twice, then success", "retried with backoff; file correct",
          server_errors_then_success, lambda out, t: out == "the file; requests: whole, whole, whole"),
    Probe("HTTP 404", "DownloadError at once (not retried), naming file and URL",
          not_found, lambda out, t: out.startswith("DownloadError: file.bin: /missing: HTTP 404")
          and len(t.server.requests) == 1),
    Probe("md5 mismatch", "DownloadError naming both digests; nothing left",
          md5_mismatch, lambda out, t: "md5 mismatch: expected 000" in out and in_dest()(t)),
    Probe("URL changed, part of the old URL left", "restarted from byte 0; the new file, no splice",
          url_changed, lambda out, t: out == "the new file; requests: whole"),
    Probe("garbage part without record", "restarted from byte 0; file correct",
          garbage_part, lambda out, t: out == "the file; requests: whole"),
    Probe("remote changed (server honours If-Range)", "server sends the whole new file; no splice",
          changed_remote(True), lambda out, t: out == f"the new file; requests: range from {HALF} + If-Range"),
    Probe("remote changed (server ignores If-Range)", "206 of another ETag refused; restarted; no splice",
          changed_remote(False),
          lambda out, t: out == f"the new file; requests: range from {HALF} + If-Range, whole"),
    Probe(".gz cut short twice, no Content-Length", "gzip check fails; restarted (not resumed); archive correct",
          archive_cut_short(2), lambda out, t: out == "the archive; requests: whole, whole, whole"),
    Probe(".gz always cut short, no Content-Length", "DownloadError naming file and URL after the retries",
          archive_cut_short(10**6),
          lambda out, t: out.startswith("DownloadError: data.csv.gz: /a.gz: giving up after 3 attempts: "
                                        "the received .gz file is incomplete") and in_dest()(t)),
    Probe("no checksum, remote file changed", "DownloadError naming file, recorded and found sha256",
          changed_without_checksum,
          lambda out, t: f"expected sha256 {sha(PAYLOAD)}" in out and f"found sha256 {sha(OTHER)}" in out
          and in_dest("file.bin.manifest.json")(t)),
    Probe("drop every 1/8 of the file, retries=2", "each try's progress resets the count; file correct",
          trickle(len(PAYLOAD) // 8), lambda out, t: out.startswith("the file;") and len(t.server.requests) == 8),
    Probe("endless trickle (1 kB a try), retries=2", "DownloadError after 20 x (retries + 1) = 60 tries",
          trickle(1000), lambda out, t: "giving up after 60 attempts" in out and len(t.server.requests) == 60),
)


@contextmanager
def quiet_downloads() -> Iterator[None]:
    """Hold back grnlink.download's retry warnings: provoking them is the probes' point."""
    logger = logging.getLogger("grnlink.download")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@quiet_downloads()
def download_probes() -> list[dict]:
    """Run every probe against a fresh local server; one dict per probe (probe, expected,
    outcome, passed)."""
    rows = []
    for probe in PROBES:
        with fault_server() as server, tempfile.TemporaryDirectory() as folder:
            trial = Trial(server, Path(folder), Path(folder) / "file.bin")
            outcome = probe.run(trial)
            rows.append({"probe": probe.name, "expected": probe.expected, "outcome": outcome,
                         "passed": probe.passed(outcome, trial)})
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = ["| probe | expected | outcome | pass |", "|---|---|---|---|"]
    lines += [f"| {r['probe']} | {r['expected']} | {r['outcome'].replace('|', '/')} | "
              f"{'pass' if r['passed'] else 'FAIL'} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    print(markdown_table(download_probes()))


if __name__ == "__main__":
    main()
