"""Logging set-up shared by every stage: the job's log file plus stderr.

A job's log is where a user looks first (on SLURM the only place): the error that ends a
job, with its traceback, is written there too, not only to Snakemake's stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from types import TracebackType


def log_to(path: str | os.PathLike[str] | None, level: int = logging.INFO) -> logging.Logger:
    """Send the `grnlink` logger (and warnings) to `path` and stderr, and log an uncaught
    exception there (message and traceback) before Python prints it; return the logger.
    Workflow scripts call it first, before importing anything that could fail."""
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
    sys.excepthook = _log_uncaught
    return logging.getLogger("grnlink")


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """Log the exception that ends the job to the log file only (stderr gets Python's own print)."""
    record = logging.LogRecord("grnlink", logging.ERROR, "", 0, "job failed: %s: %s", (kind.__name__, error),
                               (kind, error, traceback))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    sys.__excepthook__(kind, error, traceback)
