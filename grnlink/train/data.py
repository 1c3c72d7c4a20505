"""Inputs of link prediction without torch: node features, the embedding, labelled pairs,
their label noise, and the grn stage's scores and tables (training graphs: graphs.py).

Genes are addressed by their index in the benchmark gene order (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scipy.stats import rankdata

from grnlink import split as split_file
from grnlink.dataset import BASELINE_COLUMNS
from grnlink.errors import InputError
from grnlink.grn.evidence import evidence_columns, read_pair_evidence
from grnlink.io import read_table

log = logging.getLogger(__name__)

SPLIT_PARTS = ("train", "validation", "test")
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (TF indices, target indices) -> scores
CELLTYPE_GRN_COLUMNS = ["TF", "target", "importance"]


@dataclass(frozen=True)
class GeneData:
    """Per-gene inputs in benchmark order: expression features and the optional embedding."""

    genes: list[str]
    tfs: list[str]
    features: np.ndarray
    embedding: np.ndarray | None = None


def zscore_rows(matrix: np.ndarray) -> np.ndarray:
    """Centre and scale each row to unit variance; constant rows become zeros."""
    matrix = np.asarray(matrix, dtype=np.float64)
    centred = matrix - matrix.mean(axis=1, keepdims=True)
    std = centred.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0).astype(np.float32)


def expression_features(rna: ad.AnnData, genes: list[str]) -> np.ndarray:
    """Genes x cells log expression of `genes`, z-scored per gene over cells."""
    matrix = rna[:, genes].X
    matrix = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return zscore_rows(matrix.T)


def read_embedding(path: str | os.PathLike[str], genes: list[str]) -> np.ndarray:
    """The all-cell pooled embedding (`X`) of `genes`, each dimension z-scored over genes."""
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    emb = ad.read_h5ad(path)
    missing = [g for g in genes if g not in emb.obs_names]
    if missing:
        raise InputError(path, f"{len(missing)} benchmark gene(s) lack an embedding, e.g. {missing[:5]}")
    matrix = emb[genes].X
    matrix = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return zscore_rows(matrix.T).T.copy()


def read_split(path: str | os.PathLike[str], genes: list[str]) -> pd.DataFrame:
    """A split file with gene indices added as `tf` and `target` columns."""
    return index_split(split_file.read_split(path), genes, path)


def index_split(split: pd.DataFrame, genes: list[str], source: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Check a split table against the benchmark genes and add the `tf`/`target` indices;
    errors name `source` and the file line of the bad row."""
    index = pd.Series(np.arange(len(genes)), index=genes)
    split = split.reset_index(drop=True)
    checks = [
        (~split["TF"].isin(index.index), lambda r: f"TF {split['TF'].iat[r]!r} is not a benchmark gene"),
        (~split["Target"].isin(index.index), lambda r: f"Target {split['Target'].iat[r]!r} is not a benchmark gene"),
        (~split["part"].isin(SPLIT_PARTS), lambda r: f"invalid part {split['part'].iat[r]!r}"),
        (~split["label"].isin([0, 1]), lambda r: f"invalid label {split['label'].iat[r]!r}"),
    ]
    for bad, message in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(source, message(row), line=row + 2)
    split = split.assign(
        tf=index.loc[split["TF"]].to_numpy(),
        target=index.loc[split["Target"]].to_numpy(),
        label=split["label"].astype(int),
    )
    if split.loc[split["part"] == "train", "label"].nunique() < 2:
        raise InputError(source, "the train part needs both positive and negative pairs")
    for part in ("validation", "test"):
        if split.loc[split["part"] == part, "label"].nunique() < 2:
            log.warning("%s: the %s part lacks a class; its AUROC is undefined (NaN)%s", source, part,
                        ", so training runs all epochs and keeps the last" if part == "validation" else "")
    return split


def flip_labels(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Copy of `labels` with round(fraction * n) randomly chosen labels flipped (0 <-> 1)."""
    labels = np.asarray(labels).copy()
    n_flip = int(round(fraction * len(labels)))
    chosen = rng.choice(len(labels), size=n_flip, replace=False)
    labels[chosen] = 1 - labels[chosen]
    return labels


def pearson_matrix(features: np.ndarray) -> np.ndarray:
    """Genes x genes Pearson r of the rows of `features` (float32; constant rows give 0)."""
    z = zscore_rows(features).astype(np.float64)
    return (z @ z.T / max(z.shape[1], 1)).astype(np.float32)


def read_celltype_grn(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A cell-type GRN edge table of the `grn` stage."""
    return read_table(path, required=CELLTYPE_GRN_COLUMNS, sep="\t")


def read_baseline_scores(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Unsupervised pair scores of the `grn` stage (`dataset.BASELINE_COLUMNS`)."""
    return read_table(path, required=BASELINE_COLUMNS, sep="\t")


# The inferred GRN's edge strength: the ATAC-supported cell-type score where the data have
# ATAC, else the GRNBoost2 importance (first column the table has).
GRN_STRENGTH_COLUMNS = ("grn_score_max", "grnboost2_max")


@dataclass(frozen=True)
class PairEvidence:
    """The grn stage's evidence on gene pairs, addressed by benchmark gene indices.

    `values[tf, target]` holds the pair's `columns`, each turned into its quantile over the
    candidate pairs (average rank / number of pairs, in (0, 1]; label-free), so that
    importances, correlations and shares share one scale. `strength` is the inferred GRN's
    raw edge strength (`GRN_STRENGTH_COLUMNS`); `covered` marks the pairs the table holds.
    """

    columns: tuple[str, ...]
    values: np.ndarray
    strength: np.ndarray
    covered: np.ndarray
    source: str

    def check_covers(self, tf: np.ndarray, target: np.ndarray) -> None:
        """Fail, naming the table, when a pair to be scored is not in it."""
        missing = ~self.covered[tf, target]
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InputError(self.source, f"no evidence row for the pair with gene indices {tf[i]} -> {target[i]}"
                                          f" ({int(missing.sum())} pair(s) missing)")


def quantiles(values: np.ndarray) -> np.ndarray:
    """Average rank of each value over `values`, divided by their number."""
    return (rankdata(values, method="average") / max(len(values), 1)).astype(np.float32)


def pair_evidence(table: pd.DataFrame, genes: list[str], groups: tuple[str, ...], source: str) -> PairEvidence:
    """The evidence table of the grn stage as a `PairEvidence` of the columns of `groups`
    that the table has (RNA-only data have no ATAC columns)."""
    columns = tuple(c for c in evidence_columns(groups) if c in table.columns)
    index = pd.Series(np.arange(len(genes)), index=genes)
    table = table[table["TF"].isin(index.index) & table["Target"].isin(index.index)]
    tf, target = index.loc[table["TF"]].to_numpy(), index.loc[table["Target"]].to_numpy()
    n = len(genes)
    values = np.zeros((n, n, len(columns)), dtype=np.float32)
    for k, column in enumerate(columns):
        values[tf, target, k] = quantiles(table[column].to_numpy(float))
    strength = np.zeros((n, n), dtype=np.float32)
    strength_column = next(c for c in GRN_STRENGTH_COLUMNS if c in table.columns)
    strength[tf, target] = table[strength_column].to_numpy(float)
    covered = np.zeros((n, n), dtype=bool)
    covered[tf, target] = True
    return PairEvidence(columns=columns, values=values, strength=strength, covered=covered, source=str(source))


def load_pair_evidence(path: str | os.PathLike[str], genes: list[str], groups: tuple[str, ...]) -> PairEvidence:
    return pair_evidence(read_pair_evidence(path), genes, groups, str(path))


@dataclass
class RunInputs:
    """Everything a variant may read for one dataset and split (the split with gene indices),
    and the torch device its graph model trains on (`grnlink.device.pick_device`'s name)."""

    genes: GeneData
    split: pd.DataFrame
    baseline_scores: pd.DataFrame | None = None
    prior_tables: list[pd.DataFrame] = field(default_factory=list)
    evidence: PairEvidence | None = None
    device: str = "cpu"


def split_parts(split: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The train, validation and test rows of an indexed split, each re-indexed from 0."""
    return {part: split[split["part"] == part].reset_index(drop=True) for part in SPLIT_PARTS}
