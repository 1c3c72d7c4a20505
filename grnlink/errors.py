"""The one error type users see for bad input: it names the file and what is wrong."""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad input data or configuration, with the offending file (and line/field) named."""

    def __init__(self, path: str | PathLike[str] | None, message: str, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")
