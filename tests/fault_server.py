"""A fault-injecting HTTP server on 127.0.0.1 for the download tests and the reliability
bench (bench/reliability_downloads.py): each served file can answer 5xx, cut its body
short, leave out Content-Length, change its validator or ignore If-Range."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, not a multiple of the read chunk boundaries
OTHER = random.Random(1).randbytes(len(PAYLOAD))  # another version of the same size


@dataclass
class Remote:
    """A file the server serves, and its faults."""

    body: bytes = PAYLOAD
    etag: str | None = '"v1"'
    last_modified: str | None = None
    fail_first: int = 0  # answers 503 to the first n requests
    cut_first: int = 0  # cuts the first n answers...
    cut_after: int = len(PAYLOAD) // 2  # ...after this many bytes
    content_length: bool = True
    honours_if_range: bool = True  # else serves a range whatever the If-Range validator


class Handler(BaseHTTPRequestHandler):
    """Serves `server.remotes` (path -> Remote) with their faults; 404 for other paths.
    HTTP/1.0: the connection closes after every answer, which ends a body without length."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        server.requests.append((self.path, self.headers.get("Range"), self.headers.get("If-Range")))
        remote = server.remotes.get(self.path)
        if remote is None:
            self.send_error(404, "no such file")
            return
        calls = sum(1 for path, *_ in server.requests if path == self.path)
        if calls <= remote.fail_first:
            self.send_error(503, "server trouble")
            return
        start = self.range_start(remote)
        body = remote.body[start:]
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(remote.body) - 1}/{len(remote.body)}")
        else:
            self.send_response(200)
        if remote.content_length:
            self.send_header("Content-Length", str(len(body)))
        for header, value in (("ETag", remote.etag), ("Last-Modified", remote.last_modified)):
            if value:
                self.send_header(header, value)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body[: remote.cut_after] if calls <= remote.cut_first else body)

    def range_start(self, remote: Remote) -> int:
        """Where the answer starts: the requested byte, unless If-Range names another version."""
        requested, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        if not requested:
            return 0
        if remote.honours_if_range and if_range is not None and if_range not in (remote.etag, remote.last_modified):
            return 0
        return int(requested.removeprefix("bytes=").split("-")[0])

    def log_message(self, *args):
        pass


@contextmanager
def fault_server(remotes: dict[str, Remote] | None = None) -> Iterator[ThreadingHTTPServer]:
    """The server on a free port of 127.0.0.1, serving `remotes` (path -> Remote; more can be
    added to `.remotes`), recording `(path, Range, If-Range)` of every request in
    `.requests`; stopped on exit."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests, httpd.remotes = [], dict(remotes or {})
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
