"""Fetching remote files: resumable, retried, verified; and unpacking `.gz` / `.zip`.

Standard library only (the download environment has no scientific stack). A download
streams into `<dest>.part` and is renamed to `dest` only when complete and verified, so a
failed job leaves no file named `dest`; every error names the file and the URL.

- Resume. `<dest>.part.json` records the URL and the server's validator (a strong ETag,
  else Last-Modified) of the answer the part's bytes came from. Over HTTP(S) a leftover
  part is resumed (a Range request from its end, with `If-Range: <validator>`) only when
  the record names the same URL and a validator and the server answers 206 from that byte
  with that validator. Anything else (no record, another URL, no validator, a 200 answer,
  a 206 for another version, 416) restarts from byte 0, truncating the part.
- Retries. Connection errors, bodies cut short and 5xx answers are retried with
  exponential backoff (4xx never). A try that leaves resumable bytes behind resets the
  count: a download gives up after `retries` failed tries in a row without progress, or
  after `TRIES_PER_RETRY * (retries + 1)` tries in all, so an endless trickle stops.
- Completeness. A `.gz` must decompress to its end and a `.zip` pass `testzip()`: this
  catches a body cut short that came without Content-Length. A failing archive is
  discarded and fetched again from byte 0 (from a `file://` URL it fails at once).
- Verification. `size`, `md5` and `sha256` are checked when given; a file that fails is
  deleted. A file with neither checksum gets a manifest, `<dest>.manifest.json` (URL, size,
  sha256), on its first download; a later download from the same URL must match it, else
  DownloadError naming the file and both digests (delete the manifest to accept the new
  file). One manifest per file, so parallel download jobs never write the same one.
"""

from __future__ import annotations

import datetime as dt
import ftplib
import gzip
import hashlib
import http.client
import itertools
import json
import logging
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from grnlink.settings import RemoteFile, RetryPolicy

log = logging.getLogger("grnlink.download")

GEO_SUPPLEMENT_URL = "https://ftp.ncbi.nlm.nih.gov/geo/series/{stub}/{accession}/suppl/{file}"
SUPPORTED_SCHEMES = ("https", "http", "ftp", "file")
RESUMABLE_SCHEMES = ("https", "http")
CHUNK_BYTES = 1 << 20
TRIES_PER_RETRY = 20
CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")


class DownloadError(RuntimeError):
    """A download that cannot succeed; the message starts with the file and the URL."""


def geo_supplementary_url(accession: str, file_name: str) -> str:
    """URL of a GEO series' supplementary file (GSE75748 lives under GSE75nnn)."""
    if not (accession.startswith("GSE") and accession[3:].isdigit()):
        raise ValueError(f"{accession!r} is not a GEO series accession (GSE followed by digits)")
    stub = accession[:-3] + "nnn" if len(accession) > 6 else "GSEnnn"
    return GEO_SUPPLEMENT_URL.format(stub=stub, accession=accession, file=file_name)


def resolve_url(file_name: str, remote: RemoteFile) -> str:
    """The URL of a configured download: `url` as given, or `geo` accession + file name."""
    if remote.url:
        return remote.url
    if remote.geo:
        return geo_supplementary_url(remote.geo, file_name)
    raise ValueError(f"download {file_name!r}: give either `url` or `geo`")


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    policy: RetryPolicy,
) -> Path:
    """Fetch `url` to `dest` (resuming, retrying, verifying); return `dest`."""
    dest = Path(dest)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    try:
        if scheme not in SUPPORTED_SCHEMES:
            raise DownloadError(f"unsupported scheme {scheme!r}; use one of {SUPPORTED_SCHEMES}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = PartFile(dest)
        _fetch_with_retries(url, part, scheme=scheme, policy=policy)
        _accept(part, url, size=size, md5=md5, sha256=sha256)
    except DownloadError as err:
        # Chained to the low-level cause (if any), not to the unnamed error it rewords.
        raise DownloadError(f"{dest}: {url}: {err}") from err.__cause__
    log.info("%s -> %s (%d bytes)", url, dest, dest.stat().st_size)
    return dest


class _Retryable(Exception):
    """A failed try worth another: connection trouble, a body cut short, a 5xx answer.
    `progressed`: the try left bytes the next one resumes from."""

    def __init__(self, message: str, *, progressed: bool = False) -> None:
        super().__init__(message)
        self.progressed = progressed


class PartFile:
    """A download in progress: `<dest>.part` and the record of its source, `<dest>.part.json`."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.path = dest.with_name(dest.name + ".part")
        self.record = dest.with_name(dest.name + ".part.json")

    def resume_point(self, url: str, *, resumable: bool) -> tuple[int, str | None]:
        """The byte to resume `url` from and the validator to send with it, or (0, None)
        (logging why a leftover part is not resumed)."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if not size:
            return 0, None
        source = self._source()
        if not resumable:
            reason = "only http(s) downloads resume"
        elif source is None:
            reason = "no record of its source"
        elif source.get("url") != url:
            reason = f"it came from another URL, {source.get('url')}"
        elif not source.get("validator"):
            reason = "the server sent no ETag or Last-Modified to check it against"
        else:
            return size, source["validator"]
        log.info("%s: restarting from byte 0, not resuming the %d-byte part: %s", self.dest, size, reason)
        return 0, None

    def _source(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.record.read_text())
        except (OSError, ValueError):
            return None

    def start(self, url: str, validator: str | None) -> BinaryIO:
        """The part truncated, for the bytes of `url` at `validator` from byte 0."""
        self.record.unlink(missing_ok=True)  # never a record that vouches for bytes it did not see
        handle = open(self.path, "wb")
        _write_json(self.record, {"url": url, "validator": validator})
        return handle

    def append(self) -> BinaryIO:
        return open(self.path, "ab")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.record.unlink(missing_ok=True)

    def restart(self, reason: str) -> None:
        """Discard the part so that the next try starts from byte 0, saying why."""
        self.discard()
        log.info("%s: the next try restarts from byte 0: %s", self.dest, reason)

    def complete(self) -> None:
        """Rename the part to its destination (atomic) and drop its record."""
        os.replace(self.path, self.dest)
        self.record.unlink(missing_ok=True)


def _fetch_with_retries(url: str, part: PartFile, *, scheme: str, policy: RetryPolicy) -> None:
    """Try until the part holds the whole file; a try that made progress resets the count."""
    max_tries = TRIES_PER_RETRY * (policy.retries + 1)
    failed_in_a_row = 0
    for tries in itertools.count(1):
        try:
            _fetch_into(url, part, resumable=scheme in RESUMABLE_SCHEMES, timeout_s=policy.timeout_s)
            _check_complete(part, retryable=scheme != "file")
            return
        except _Retryable as err:
            failed_in_a_row = 1 if err.progressed else failed_in_a_row + 1
            if failed_in_a_row > policy.retries:
                raise DownloadError(f"giving up after {tries} attempts: {err}") from err
            if tries >= max_tries:
                raise DownloadError(f"giving up after {tries} attempts, the most for retries={policy.retries} "
                                    f"even while tries make progress: {err}") from err
            wait = policy.backoff_s * 2 ** (failed_in_a_row - 1)
            count = ("progress made, retry count reset" if err.progressed
                     else f"retry {failed_in_a_row}/{policy.retries}")
            log.warning("%s: %s: %s; %s, next attempt in %.1f s", part.dest, url, err, count, wait)
            time.sleep(wait)


def _fetch_into(url: str, part: PartFile, *, resumable: bool, timeout_s: float) -> None:
    """One try: resume the part where the server confirms its source, else write it anew."""
    offset, validator = part.resume_point(url, resumable=resumable)
    request = urllib.request.Request(url, headers={"User-Agent": "grnlink-download"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
        request.add_header("If-Range", validator)
    with _open(request, url, part, offset=offset, timeout_s=timeout_s) as response:
        offset = _confirmed_offset(response, part, offset=offset, validator=validator)
        validator = validator if offset else _validator(response.headers)
        _stream(response, part, url, offset=offset, validator=validator, resumable=resumable)


def _open(request: urllib.request.Request, url: str, part: PartFile, *, offset: int, timeout_s: float):
    """The server's answer, or _Retryable / DownloadError by the kind of failure."""
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            reason = f"HTTP 416 for a range from byte {offset}"
            part.restart(f"{reason} (the part is longer than the file)")
            raise _Retryable(reason) from err
        if err.code >= 500:
            raise _Retryable(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"HTTP {err.code} {err.reason} (not retried)") from err
    except urllib.error.URLError as err:
        # A missing local file or an FTP 5xx reply (no such file, no permission) is final.
        if isinstance(err.reason, (FileNotFoundError, ftplib.error_perm)) or url.startswith("file:"):
            raise DownloadError(str(err.reason)) from err
        raise _Retryable(f"cannot connect: {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:
        raise _Retryable(f"cannot connect: {err!r}") from err


def _confirmed_offset(response, part: PartFile, *, offset: int, validator: str | None) -> int:
    """`offset` when the answer continues the part's own version from there, 0 when the
    answer is the whole file; a 206 for another version or range discards the part."""
    if not offset:
        return 0
    if getattr(response, "status", None) != 206:
        log.info("%s: restarting from byte 0: the server sent the whole file (it changed since "
                 "the part was fetched, or it ignores ranges)", part.dest)
        return 0
    start = _range_start(response.headers.get("Content-Range"))
    found = _validator(response.headers)
    if start == offset and found == validator:
        log.info("%s: resuming at byte %d (the server confirmed validator %s)", part.dest, offset, validator)
        return offset
    reason = (f"the server answered the range from byte {offset} with bytes from {start} of "
              f"validator {found}, not {validator}")
    part.restart(reason)
    raise _Retryable(reason)


def _stream(response, part: PartFile, url: str, *, offset: int, validator: str | None, resumable: bool) -> None:
    """Write the body after byte `offset` of the part (truncating it when `offset` is 0)."""
    expected = _expected_size(response.headers.get("Content-Length"), offset)
    next_try_resumes = resumable and validator is not None
    received = 0
    try:
        with part.append() if offset else part.start(url, validator) as out:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
    except (OSError, http.client.HTTPException) as err:
        raise _Retryable(f"connection lost after {offset + received} bytes: {err!r}",
                         progressed=next_try_resumes and received > 0) from err
    if expected is not None and offset + received < expected:
        raise _Retryable(f"connection closed after {offset + received} of {expected} bytes",
                         progressed=next_try_resumes and received > 0)


def _validator(headers) -> str | None:
    """What identifies this version of the resource: If-Range takes only a strong ETag
    (RFC 9110, 13.1.5), so a weak one gives way to Last-Modified."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _range_start(content_range: str | None) -> int | None:
    match = CONTENT_RANGE.fullmatch(content_range.strip()) if content_range else None
    return int(match.group(1)) if match else None


def _expected_size(content_length: str | None, offset: int) -> int | None:
    return None if content_length is None else offset + int(content_length)


def _check_complete(part: PartFile, *, retryable: bool) -> None:
    """Discard a `.gz` or `.zip` part that does not read to its end, and raise."""
    problem = _archive_problem(part.path, part.dest.suffix)
    if problem is None:
        return
    message = f"the received {part.dest.suffix} file is incomplete or corrupt: {problem}"
    if not retryable:
        part.discard()
        raise DownloadError(message)
    part.restart(message)
    raise _Retryable(message)


def _archive_problem(path: Path, suffix: str) -> str | None:
    """Why a `.gz` (read to its end) or `.zip` (every member's CRC) is broken; None when whole."""
    try:
        if suffix == ".gz":
            with gzip.open(path, "rb") as unpacked:
                while unpacked.read(CHUNK_BYTES):
                    pass
        elif suffix == ".zip":
            with zipfile.ZipFile(path) as zipped:
                broken = zipped.testzip()
            if broken is not None:
                return f"member {broken} fails its CRC check"
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        return str(err) or type(err).__name__
    return None


def _accept(part: PartFile, url: str, *, size: int | None, md5: str | None, sha256: str | None) -> None:
    """Verify the part (checksums, else the manifest) and rename it; discard it if it fails."""
    try:
        verify(part.path, size=size, md5=md5, sha256=sha256)
        if not (md5 or sha256):
            _check_manifest(part.path, part.dest, url)
    except DownloadError:
        part.discard()
        raise
    part.complete()


def manifest_path(dest: str | os.PathLike[str]) -> Path:
    """Where the size and sha256 of a download without configured checksum are recorded."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".manifest.json")


def _check_manifest(received: Path, dest: Path, url: str) -> None:
    """Compare `received` (the file for `dest` from `url`) with `dest`'s manifest; record it
    when there is none, or when the manifest is of another URL (the config changed)."""
    manifest = manifest_path(dest)
    found = {"url": url, "size": received.stat().st_size, "sha256": file_digest(received, "sha256")}
    recorded = _read_manifest(manifest)
    if recorded is not None and recorded.get("url") == url:
        if recorded.get("sha256") != found["sha256"]:
            raise DownloadError(
                f"the file received differs from the one recorded in {manifest} on {recorded.get('recorded')}: "
                f"expected sha256 {recorded.get('sha256')} ({recorded.get('size')} bytes), found sha256 "
                f"{found['sha256']} ({found['size']} bytes). The remote file has changed; to accept the new "
                f"one, delete {manifest} and run again")
        log.info("%s matches its manifest (sha256 %s)", dest, found["sha256"])
        return
    if recorded is not None:
        log.warning("%s: the URL changed from %s to %s: recording the new file in %s",
                    dest, recorded.get("url"), url, manifest)
    _write_json(manifest, {**found, "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    log.info("%s: recorded size %d and sha256 %s in %s", dest, found["size"], found["sha256"], manifest)


def _read_manifest(manifest: Path) -> dict[str, Any] | None:
    try:
        return json.loads(manifest.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise DownloadError(f"cannot read the manifest {manifest} ({err}); delete it to record the file anew") from err


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Write `value` to `path` under a temporary name, renamed when complete."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


def verify(path: Path, *, size: int | None = None, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise DownloadError when `path` has the wrong size or checksum."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise DownloadError(f"size mismatch: expected {size} bytes, got {actual_size}")
    for name, expected in (("md5", md5), ("sha256", sha256)):
        if expected:
            actual = file_digest(path, name)
            if actual != expected.lower():
                raise DownloadError(f"{name} mismatch: expected {expected.lower()}, got {actual}")


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def unpack(archive: str | os.PathLike[str], dest_dir: str | os.PathLike[str]) -> Path:
    """Unpack a `.zip` (all members) or `.gz` (one file, suffix dropped) into `dest_dir`.

    The directory appears complete or not at all (built under a temporary name).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if archive.suffix not in (".gz", ".zip"):
        raise ValueError(f"{archive}: can only unpack .gz and .zip files")
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.", dir=dest_dir.parent))
    try:
        if archive.suffix == ".zip":
            _unzip(archive, tmp)
        else:
            _gunzip(archive, tmp / archive.stem)
        if dest_dir.exists():
            shutil.rmtree(dest_dir)
        os.replace(tmp, dest_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest_dir


def _gunzip(archive: Path, out_path: Path) -> None:
    try:
        with gzip.open(archive, "rb") as src, open(out_path, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK_BYTES)
    except (OSError, EOFError) as err:
        raise DownloadError(f"{archive}: not a valid gzip file ({err})") from err


def _unzip(archive: Path, out_dir: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                parts = PurePosixPath(member).parts
                if PurePosixPath(member).is_absolute() or ".." in parts:
                    raise DownloadError(f"{archive}: member {member!r} would be written outside the target")
            zipped.extractall(out_dir)
    except zipfile.BadZipFile as err:
        raise DownloadError(f"{archive}: not a valid zip file ({err})") from err
