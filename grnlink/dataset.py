"""Reading and writing the preprocessed object that every stage after `preprocess` uses.

See docs/ARCHITECTURE.md for the fields. Paired data is a MuData (`.h5mu`) with `rna` and
`atac` modalities; RNA-only data an AnnData (`.h5ad`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink.errors import InputError
from grnlink.io import atomic_path
from grnlink.settings import UNSUPERVISED_MODELS

PAIR_COLUMNS = ("TF", "Target")
# The grn stage's unsupervised pair scores (grnlink.grn.celltype.baseline_scores): a column
# per unsupervised model of the train stage.
BASELINE_COLUMNS = [*PAIR_COLUMNS, *UNSUPERVISED_MODELS]

NETWORK_COLUMNS = ["Gene1", "Gene2", "cell_type"]
RNA_VAR_COLUMNS = ["is_tf", "selected"]


def load(path: str | os.PathLike[str]) -> tuple[ad.AnnData, ad.AnnData | None]:
    """Return `(rna, atac)` from a preprocessed `.h5mu` or `.h5ad`; check the contract."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.suffix == ".h5mu":
        import mudata

        with mudata.set_options(pull_on_update=False):
            mdata = mudata.read_h5mu(path)
        missing = {"rna", "atac"} - set(mdata.mod)
        if missing:
            raise InputError(path, f"MuData lacks modality(ies) {sorted(missing)}")
        rna, atac = mdata.mod["rna"], mdata.mod["atac"]
    elif path.suffix == ".h5ad":
        rna, atac = ad.read_h5ad(path), None
    else:
        raise InputError(path, "expected a .h5mu or .h5ad file")
    _check_rna(rna, path)
    return rna, atac


def load_rna(path: str | os.PathLike[str]) -> ad.AnnData:
    """Only the RNA object of a preprocessed file (reads no ATAC data); contract checked."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.suffix == ".h5mu":
        import mudata

        try:
            rna = mudata.read_h5ad(path, "rna")
        except KeyError as err:
            raise InputError(path, "MuData lacks the 'rna' modality") from err
    elif path.suffix == ".h5ad":
        rna = ad.read_h5ad(path)
    else:
        raise InputError(path, "expected a .h5mu or .h5ad file")
    _check_rna(rna, path)
    return rna


def _check_rna(rna: ad.AnnData, path: Path) -> None:
    missing = [c for c in RNA_VAR_COLUMNS if c not in rna.var]
    if missing:
        raise InputError(path, f"rna.var lacks column(s) {missing}")
    if "cell_type" not in rna.obs:
        raise InputError(path, "rna.obs lacks column 'cell_type'")
    if "network" not in rna.uns:
        raise InputError(path, "rna.uns lacks the ground-truth 'network'")


def save(rna: ad.AnnData, atac: ad.AnnData | None, path: str | os.PathLike[str]) -> None:
    """Write `.h5mu` (with ATAC) or `.h5ad` (RNA only), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if atac is None:
            if path.suffix != ".h5ad":
                raise ValueError(f"{path}: RNA-only data is written as .h5ad")
            rna.write_h5ad(tmp, compression="gzip")
        else:
            import mudata

            if path.suffix != ".h5mu":
                raise ValueError(f"{path}: paired RNA + ATAC is written as .h5mu")
            # Modalities keep their own obs/var; nothing is pulled into the global tables.
            with mudata.set_options(pull_on_update=False):
                mudata.MuData({"rna": rna, "atac": atac}).write_h5mu(tmp, compression="gzip")


def holds_counts(x: np.ndarray | sp.spmatrix) -> bool:
    """Whether a matrix holds raw counts (non-negative whole numbers)."""
    values = x.data if sp.issparse(x) else np.asarray(x)
    return bool(np.all(values >= 0) and np.all(np.mod(values, 1) == 0))


def benchmark_genes(rna: ad.AnnData) -> list[str]:
    """The benchmark gene set in its canonical order (the order of `var_names`)."""
    return list(rna.var_names[rna.var["selected"].to_numpy(bool)])


def benchmark_tfs(rna: ad.AnnData) -> list[str]:
    """TFs among the benchmark genes, in benchmark order."""
    selected = rna.var["selected"].to_numpy(bool) & rna.var["is_tf"].to_numpy(bool)
    return list(rna.var_names[selected])


def candidate_pairs(tfs: Sequence[str], genes: Sequence[str]) -> pd.DataFrame:
    """`TF, Target`: every TF x gene pair but self loops, in TF order then gene order: the
    pairs every GRN score and the pair evidence are given for."""
    return pd.DataFrame([(tf, gene) for tf in tfs for gene in genes if gene != tf], columns=list(PAIR_COLUMNS))


def training_network(rna: ad.AnnData) -> pd.DataFrame:
    """The ground truth as TF -> target pairs, the union over cell types."""
    network = pd.DataFrame(rna.uns["network"])
    return network[["Gene1", "Gene2"]].drop_duplicates().reset_index(drop=True)
