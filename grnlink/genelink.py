"""GENELink benchmark folders (BEELINE `Specific Dataset/<cell>/TFs+<n>/`): import and export.

A folder holds, all comma-separated with an unnamed index as first column:
`BL--ExpressionData.csv` (genes x cells, log expression), `Target.csv` (`Gene, index`:
every gene with its row index), `TF.csv` (`TF, index`: the TFs among the genes) and
`Label.csv` (`TF, Target`: gene indices of the ground-truth edges). The folder already is
a benchmark gene set, so every gene is `selected`; the single cell type is the dataset name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink import dataset
from grnlink.benchmark import attach_network
from grnlink.errors import InputError
from grnlink.io import atomic_path, read_table

# The files of a GENELink folder by role (the preprocess job's inputs, grnlink.sources).
FILES = {"expression": "BL--ExpressionData.csv", "targets": "Target.csv", "tfs": "TF.csv", "labels": "Label.csv"}
NETWORK_FILE = "BL--network.csv"  # the edges as gene symbols, as GENELink ships them; not read


def genelink_files(folder: str | os.PathLike[str]) -> dict[str, str]:
    """The paths of a GENELink folder's files, by role (`FILES`)."""
    return {role: os.path.join(folder, name) for role, name in FILES.items()}


def read_genelink(folder: str | os.PathLike[str], name: str) -> ad.AnnData:
    """The preprocessed RNA object of a GENELink folder (no counts: the values are logs)."""
    if not Path(folder).is_dir():
        raise InputError(folder, "GENELink folder not found")
    return read_genelink_files(genelink_files(folder), name)


def read_genelink_files(files: Mapping[str, str | os.PathLike[str]], name: str) -> ad.AnnData:
    """`read_genelink` from the folder's files by role (`FILES`); the cell type is `name`."""
    labels_path = Path(files["labels"])
    expression = read_expression(Path(files["expression"]))
    genes = _read_indexed_genes(Path(files["targets"]), "Gene", expression.index)
    tfs = _read_indexed_genes(Path(files["tfs"]), "TF", expression.index)
    labels = read_table(labels_path, required=["TF", "Target"], dtype={"TF": str, "Target": str})
    for column in ("TF", "Target"):
        values = pd.to_numeric(labels[column], errors="coerce")
        bad = ~values.isin(genes.index)
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise InputError(labels_path, f"unknown gene ids: {column} index {labels[column].iat[row]} "
                                          f"is not in {FILES['targets']}", line=row + 2)
        labels[column] = values.astype(int)
    network = pd.DataFrame({"Gene1": genes.loc[labels["TF"]].to_numpy(), "Gene2": genes.loc[labels["Target"]].to_numpy()})
    if not network["Gene1"].isin(set(tfs)).any():
        raise InputError(labels_path, f"no TF of the network is listed in {FILES['tfs']}")
    rna = ad.AnnData(
        X=expression.T.to_numpy(np.float32),
        obs=pd.DataFrame(index=pd.Index(expression.columns.astype(str))),
        var=pd.DataFrame(index=pd.Index(expression.index.astype(str))),
    )
    rna.obs["cell_type"] = pd.Categorical([name] * rna.n_obs, categories=[name])
    rna.var["is_tf"] = rna.var_names.isin(list(tfs))
    rna.var["selected"] = True
    return attach_network(rna, network, labels_path)


def read_expression(path: Path) -> pd.DataFrame:
    """Genes x cells log expression; mis-delimited, truncated or non-numeric rows fail."""
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        table = pd.read_csv(path, index_col=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot be parsed as a comma-separated table: {err}") from err
    if table.shape[1] < 2:
        raise InputError(path, f"expected comma-separated genes x cells, found {table.shape[1] + 1} column(s): mis-delimited?")
    if table.empty:
        raise InputError(path, "has no gene rows, only a header")
    values = table.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(path, f"row of gene {table.index[row]!r} has missing or non-numeric values (truncated?)", line=row + 2)
    if table.index.duplicated().any():
        raise InputError(path, f"gene {table.index[table.index.duplicated()][0]!r} is listed twice")
    values.index = values.index.astype(str)
    return values


def _read_indexed_genes(path: Path, column: str, genes: pd.Index) -> pd.Series:
    """`index -> gene` from Target.csv / TF.csv; genes must be rows of the expression, and
    each gene and each index listed once (a repeat would move one gene's edges to another)."""
    table = read_table(path, required=[column, "index"], dtype={column: str, "index": str})
    unknown = ~table[column].isin(genes)
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise InputError(path, f"unknown gene ids: {table[column].iat[row]!r} is not in {FILES['expression']}", line=row + 2)
    index = pd.to_numeric(table["index"], errors="coerce")
    not_integer = (index.isna() | (index % 1 != 0)).to_numpy()
    if not_integer.any():
        row = int(np.argmax(not_integer))
        raise InputError(path, f"index {table['index'].iat[row]} is not an integer", line=row + 2)
    index = index.astype(np.int64)
    _check_listed_once(table[column], path, "gene")
    _check_listed_once(index, path, "index")
    return pd.Series(table[column].to_numpy(), index=index.to_numpy())


def _check_listed_once(values: pd.Series, path: Path, what: str) -> None:
    """Fail at the first value listed a second time, naming both lines (header: line 1)."""
    repeated = values.duplicated().to_numpy()
    if repeated.any():
        row = int(np.argmax(repeated))
        first = int(np.argmax((values == values.iat[row]).to_numpy()))
        raise InputError(path, f"{what} {values.iat[row]} is listed twice (first on line {first + 2})",
                         line=row + 2)


def export_genelink(rna: ad.AnnData, folder: str | os.PathLike[str]) -> None:
    """Write the benchmark genes of a preprocessed object as a GENELink folder (atomically)."""
    genes = dataset.benchmark_genes(rna)
    tfs = dataset.benchmark_tfs(rna)
    index = {gene: i for i, gene in enumerate(genes)}
    network = dataset.training_network(rna)
    x = rna[:, genes].X
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        files = {role: tmp / name for role, name in FILES.items()}
        pd.DataFrame(x.T, index=genes, columns=rna.obs_names).to_csv(files["expression"])
        pd.DataFrame({"Gene": genes, "index": range(len(genes))}).to_csv(files["targets"])
        pd.DataFrame({"TF": tfs, "index": [index[t] for t in tfs]}).to_csv(files["tfs"])
        pd.DataFrame({"TF": network["Gene1"].map(index), "Target": network["Gene2"].map(index)}).to_csv(files["labels"])
        network.to_csv(tmp / NETWORK_FILE, index=False)
