"""Fetching remote files: resumable, retried, verified; and unpacking `.gz` / `.zip`.

Standard library only (the download environment has no scientific stack). A download
streams into `<dest>.part`, resumes it with an HTTP range request after a dropped
connection, retries connection errors and 5xx answers with exponential backoff (never
4xx), and verifies size and checksum before renaming the part file to `dest`. A file that
fails verification is deleted, so a failed job leaves nothing behind.
"""

from __future__ import annotations

import ftplib
import gzip
import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from grnlink.settings import RemoteFile, RetryPolicy

log = logging.getLogger("grnlink.download")

GEO_SUPPLEMENT_URL = "https://ftp.ncbi.nlm.nih.gov/geo/series/{stub}/{accession}/suppl/{file}"
SUPPORTED_SCHEMES = ("https", "http", "ftp", "file")
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """A download that cannot succeed; the message starts with the URL."""


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
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise DownloadError(f"{url}: unsupported scheme {scheme!r}; use one of {SUPPORTED_SCHEMES}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    attempt = 0
    while True:
        try:
            _fetch_into(url, part, resumable=scheme in ("http", "https"), timeout_s=policy.timeout_s)
            break
        except _Retryable as err:
            if attempt >= policy.retries:
                raise DownloadError(f"{url}: giving up after {attempt + 1} attempts: {err}") from err
            wait = policy.backoff_s * 2**attempt
            log.warning("%s: %s; retry %d/%d in %.1f s", url, err, attempt + 1, policy.retries, wait)
            time.sleep(wait)
            attempt += 1
    try:
        verify(part, size=size, md5=md5, sha256=sha256)
    except DownloadError as err:
        part.unlink()
        raise DownloadError(f"{url}: {err}") from None
    os.replace(part, dest)
    log.info("%s -> %s (%d bytes)", url, dest, dest.stat().st_size)
    return dest


class _Retryable(Exception):
    """A failure worth another attempt: connection trouble or a 5xx answer."""


def _fetch_into(url: str, part: Path, *, resumable: bool, timeout_s: float) -> None:
    """One attempt: append to `part` from where it stops (if the server allows ranges)."""
    offset = part.stat().st_size if resumable and part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "grnlink-download"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            # The part file is no prefix of the resource (changed or over-long): start over.
            part.unlink()
            raise _Retryable(f"HTTP 416 for a range from byte {offset}") from err
        if err.code >= 500:
            raise _Retryable(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason} (not retried)") from err
    except urllib.error.URLError as err:
        # A missing local file or an FTP 5xx reply (no such file, no permission) is final.
        if isinstance(err.reason, (FileNotFoundError, ftplib.error_perm)) or url.startswith("file:"):
            raise DownloadError(f"{url}: {err.reason}") from err
        raise _Retryable(f"cannot connect: {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:
        raise _Retryable(f"cannot connect: {err!r}") from err
    with response:
        status = getattr(response, "status", None)
        if offset and status != 206:
            offset = 0  # the server ignored the range: the body is the whole file
        expected = _expected_length(response.headers.get("Content-Length"), offset)
        mode = "ab" if offset else "wb"
        received = 0
        try:
            with open(part, mode) as out:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    received += len(chunk)
        except (OSError, http.client.HTTPException) as err:
            raise _Retryable(f"connection lost after {offset + received} bytes: {err!r}") from err
    if expected is not None and offset + received < expected:
        raise _Retryable(f"connection closed after {offset + received} of {expected} bytes")


def _expected_length(content_length: str | None, offset: int) -> int | None:
    return None if content_length is None else offset + int(content_length)


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
