"""Readers of raw single-cell inputs that fail naming the file and what is wrong.

10x-style Matrix Market folders (`matrix.mtx.gz`, `features.tsv.gz`, `barcodes.tsv.gz`),
gene annotations, motif hit tables, cell-type labels and ground-truth networks.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from grnlink.errors import InputError
from grnlink.io import read_table

PEAK_PATTERN = re.compile(r"^(?P<chrom>[^:]+):(?P<start>\d+)-(?P<end>\d+)$")
TENX_MATRIX = "matrix.mtx.gz"
TENX_FEATURES = "features.tsv.gz"
TENX_BARCODES = "barcodes.tsv.gz"
TENX_FILES = (TENX_MATRIX, TENX_FEATURES, TENX_BARCODES)


def read_10x(directory: str | os.PathLike[str]) -> ad.AnnData:
    """Cells x features counts from a 10x folder; var has `feature_id`, `feature_type`."""
    directory = Path(directory)
    matrix_path = directory / TENX_MATRIX
    features = _read_lines_table(directory / TENX_FEATURES, min_columns=2)
    barcodes = _read_lines_table(directory / TENX_BARCODES, min_columns=1)[0]
    matrix = read_mtx(matrix_path)
    if matrix.shape != (len(features), len(barcodes)):
        raise InputError(
            matrix_path,
            f"matrix is {matrix.shape[0]} features x {matrix.shape[1]} cells but "
            f"{TENX_FEATURES} lists {len(features)} and {TENX_BARCODES} {len(barcodes)}",
        )
    if barcodes.duplicated().any():
        raise InputError(directory / TENX_BARCODES, f"duplicated barcode {barcodes[barcodes.duplicated()].iat[0]!r}")
    var = pd.DataFrame(
        {"feature_id": features[0].to_numpy(), "feature_type": features[2].to_numpy() if 2 in features else ""},
        index=pd.Index(features[1].astype(str).to_numpy()),
    )
    obs = pd.DataFrame(index=pd.Index(barcodes.astype(str).to_numpy()))
    return ad.AnnData(X=sp.csr_matrix(matrix.T, dtype=np.float32), obs=obs, var=var)


def read_mtx(path: Path) -> sp.coo_matrix:
    """A (gzipped) Matrix Market file; truncation and bad delimiters raise InputError."""
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as handle:
            matrix = scipy.io.mmread(handle)
    except (ValueError, EOFError, OSError) as err:
        raise InputError(path, f"not a complete Matrix Market matrix (truncated or mis-delimited?): {err}") from err
    if not sp.issparse(matrix):
        raise InputError(path, "expected a sparse coordinate Matrix Market matrix")
    return sp.coo_matrix(matrix)


def _read_lines_table(path: Path, min_columns: int) -> pd.DataFrame:
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        table = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot be read as a tab-separated table: {err}") from err
    if table.shape[1] < min_columns:
        raise InputError(path, f"expected at least {min_columns} tab-separated columns, found {table.shape[1]}")
    empty = (table.iloc[:, :min_columns] == "").any(axis=1).to_numpy()
    if empty.any():
        raise InputError(path, "empty field (truncated or mis-delimited?)", line=int(np.argmax(empty)) + 1)
    return table


def parse_peaks(names: pd.Index | list[str], source: str | os.PathLike[str]) -> pd.DataFrame:
    """`chrom`, `start`, `end` of peaks named `chr:start-end`; a bad name raises InputError
    naming the peak and its position in `names` (`source` holds them in a list, not by line)."""
    names = pd.Index(names).astype(str)
    parts = names.str.extract(PEAK_PATTERN)
    bad = parts["chrom"].isna().to_numpy()
    if bad.any():
        position = int(np.argmax(bad))
        raise InputError(source, f"peak #{position + 1} {names[position]!r} is not named chrom:start-end")
    return pd.DataFrame(
        {"chrom": parts["chrom"].to_numpy(), "start": parts["start"].astype(np.int64).to_numpy(),
         "end": parts["end"].astype(np.int64).to_numpy()},
        index=names,
    )


def read_network(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Ground truth `Gene1, Gene2[, cell_type]` (CSV or TSV); genes as strings."""
    table = read_table(path, required=["Gene1", "Gene2"], dtype=str, keep_default_na=False)
    columns = ["Gene1", "Gene2"] + (["cell_type"] if "cell_type" in table else [])
    table = table[columns]
    empty = (table == "").any(axis=1).to_numpy()
    if empty.any():
        raise InputError(path, "empty gene or cell type", line=int(np.argmax(empty)) + 2)
    if table.empty:
        raise InputError(path, "the network has no edges")
    return table


def read_tf_list(path: str | os.PathLike[str]) -> list[str]:
    """TF symbols from a table with a `TF` column (BEELINE's `*-tfs.csv`, motif hits)."""
    return sorted(set(read_table(path, required=["TF"], dtype=str, keep_default_na=False)["TF"]) - {""})


def read_cell_types(path: str | os.PathLike[str]) -> pd.Series:
    """Cell-type label per barcode from a `barcode, cell_type` table."""
    table = read_table(path, required=["barcode", "cell_type"], dtype=str, keep_default_na=False)
    if table["barcode"].duplicated().any():
        raise InputError(path, f"barcode {table['barcode'][table['barcode'].duplicated()].iat[0]!r} is listed twice")
    return table.set_index("barcode")["cell_type"]


def read_gene_annotation(path: str | os.PathLike[str]) -> pd.DataFrame:
    """`chrom`, `tss` per gene symbol from a `gene_name, chrom, tss` table."""
    table = read_table(path, required=["gene_name", "chrom", "tss"], dtype={"gene_name": str, "chrom": str})
    if not pd.api.types.is_integer_dtype(table["tss"]):
        raise InputError(path, "column 'tss' must hold integer positions")
    return table.drop_duplicates("gene_name").set_index("gene_name")[["chrom", "tss"]]


def check_known(names: pd.Series | list[str], known: pd.Index, path: str | os.PathLike[str], what: str) -> None:
    """Raise InputError naming up to five of `names` that are not in `known`."""
    unknown = sorted(set(names) - set(known))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InputError(path, f"{len(unknown)} unknown {what}: {shown}")
