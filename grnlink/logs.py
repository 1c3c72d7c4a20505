"""Logging set-up shared by every stage: the job's log file plus stderr."""

from __future__ import annotations

import logging
import os
import sys


def log_to(path: str | os.PathLike[str] | None, level: int = logging.INFO) -> logging.Logger:
    """Send the `grnlink` logger (and warnings) to `path` and stderr; return it."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return logging.getLogger("grnlink")
