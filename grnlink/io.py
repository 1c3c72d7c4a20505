"""Atomic outputs and the readers/writers of the objects passed between stages.

Every stage writes through `atomic_path`: the data goes to a temporary sibling and is
renamed into place only when complete, so a failed job never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from grnlink.errors import InputError


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `final`; rename it to `final` only on success.

    Works for files and directories. The temporary name keeps the suffix so that
    writers choosing the format by extension (AnnData, MuData, pandas) still work.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"{final}: the writer produced no output")
        if final.is_dir():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], index: bool = False) -> None:
    """Write a tab-separated (or .parquet) table atomically."""
    with atomic_path(path) as tmp:
        if Path(path).suffix == ".parquet":
            df.to_parquet(tmp, index=index)
        else:
            df.to_csv(tmp, sep="\t", index=index)


def read_table(path: str | os.PathLike[str], required: list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Read a TSV/CSV/Parquet table; fail naming the file when it is missing columns."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            sep = "," if path.suffix == ".csv" or path.name.endswith(".csv.gz") else "\t"
            df = pd.read_csv(path, sep=kwargs.pop("sep", sep), **kwargs)
    except FileNotFoundError as err:
        raise InputError(path, "file not found") from err
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise InputError(path, f"cannot be parsed as a table: {err}") from err
    missing = [c for c in (required or []) if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; found {list(df.columns)}")
    return df


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_anndata(adata: ad.AnnData, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
