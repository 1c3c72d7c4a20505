"""The pair-evidence table: the grn stage's label-free evidence on every candidate pair.

One row per benchmark TF x benchmark gene other than the TF, TFs in benchmark order, then
genes in benchmark order; columns `TF, Target`, then the columns of the evidence groups
(`EVIDENCE_GROUPS`, in that order). Nothing is computed from the ground truth or the
splits. "Over cell types" means over the cell types of the data (each has a cell-type GRN);
a pair absent from a cell type's table or cell-specific GRNs counts as 0 there.

- `atac` (paired data only; RNA-only data lack these columns), from the cell-type GRNs:
  `grn_score_max`, `grn_score_mean`: the combined edge `score` (importance percentile and
  ATAC support), best and mean over cell types; `atac_support_max`, `atac_support_mean`:
  the ATAC support (best significant positive peak-gene link r), best and mean;
  `atac_cell_type_share`: the share of cell types where the ATAC support is > 0;
  `triplet_cell_type_share`: the share of cell types where a TF -> peak -> target triplet
  reaches the pair at all (`link_correlation` present, whatever its sign or significance).
- `grnboost2`: `grnboost2_max`, `grnboost2_mean`: the GRNBoost2 importance, best and mean
  over cell types.
- `coexpression`, on the log-normalised expression (`rna.X`): `r` and `abs_r`: Pearson r of
  TF and target over all cells and its absolute value (the baseline scores' `pearson`);
  `abs_r_cell_type_max`, `abs_r_cell_type_mean`, `r_cell_type_mean`: |r| best and mean, and
  r mean, over cell types, each r over that type's cells (0 for a gene constant there).
- `cell_specific`, from the cell-specific GRNs: `aucell_share_max`, `aucell_share_mean`:
  the share of a cell type's cells whose AUCell GRN holds the edge, best and mean over cell
  types; `csn_share_max`, `csn_share_mean`: the same for CSN (d above the threshold).
"""

from __future__ import annotations

# Light imports only (no GRNBoost): the train stage reads the table through this module.
import os
from collections.abc import Iterable, Mapping

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink.dataset import PAIR_COLUMNS, benchmark_genes, benchmark_tfs, candidate_pairs
from grnlink.errors import InputError
from grnlink.grn.atac import standardise
from grnlink.grn.evaluate import cell_specific_shares, score_pairs
from grnlink.io import read_table

EVIDENCE_GROUPS: dict[str, tuple[str, ...]] = {
    "atac": (
        "grn_score_max", "grn_score_mean", "atac_support_max", "atac_support_mean", "atac_cell_type_share",
        "triplet_cell_type_share",
    ),
    "grnboost2": ("grnboost2_max", "grnboost2_mean"),
    "coexpression": ("r", "abs_r", "abs_r_cell_type_max", "abs_r_cell_type_mean", "r_cell_type_mean"),
    "cell_specific": ("aucell_share_max", "aucell_share_mean", "csn_share_max", "csn_share_mean"),
}
RNA_EVIDENCE_GROUPS = ("grnboost2", "coexpression", "cell_specific")


def evidence_columns(groups: Iterable[str]) -> tuple[str, ...]:
    """The columns of `groups`, flattened in the order of the groups given."""
    return tuple(column for group in groups for column in EVIDENCE_GROUPS[group])


def per_cell_type(pairs: pd.DataFrame, tables: Mapping[str, pd.DataFrame], column: str) -> np.ndarray:
    """pairs x cell types: `column` of each cell type's `TF, target` table (0 where absent)."""
    return np.column_stack([score_pairs(pairs, table, "TF", "target", column) for table in tables.values()])


def correlations(expression: np.ndarray, tf_positions: np.ndarray) -> np.ndarray:
    """Pearson r of each TF (a column of `expression`, cells x genes) with every gene:
    TFs x genes, 0 where either gene is constant."""
    z = standardise(expression)
    return z[:, tf_positions].T @ z / max(1, expression.shape[0])


def atac_evidence(pairs: pd.DataFrame, celltype_tables: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """The `atac` group's columns (module docstring) from the cell-type edge tables."""
    score = per_cell_type(pairs, celltype_tables, "score")
    support = per_cell_type(pairs, celltype_tables, "atac_support")
    with_triplet = {
        cell_type: table.assign(triplet=table["link_correlation"].notna().astype(float))
        for cell_type, table in celltype_tables.items()
    }
    return {
        "grn_score_max": score.max(axis=1), "grn_score_mean": score.mean(axis=1),
        "atac_support_max": support.max(axis=1), "atac_support_mean": support.mean(axis=1),
        "atac_cell_type_share": (support > 0).mean(axis=1),
        "triplet_cell_type_share": per_cell_type(pairs, with_triplet, "triplet").mean(axis=1),
    }


def grnboost2_evidence(pairs: pd.DataFrame, celltype_tables: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """The `grnboost2` group's columns from the cell-type edge tables' importance."""
    importance = per_cell_type(pairs, celltype_tables, "importance")
    return {"grnboost2_max": importance.max(axis=1), "grnboost2_mean": importance.mean(axis=1)}


def coexpression_evidence(
    rna: ad.AnnData, pairs: pd.DataFrame, genes: list[str], tfs: list[str],
) -> dict[str, np.ndarray]:
    """The `coexpression` group's columns: Pearson r over all cells and within each cell
    type of the data (one TFs x genes matrix product each)."""
    expression = rna[:, genes].X
    expression = expression.toarray() if sp.issparse(expression) else np.asarray(expression)
    position = pd.Series(np.arange(len(genes)), index=genes)
    tf_positions = position[tfs].to_numpy()
    row = pd.Series(np.arange(len(tfs)), index=tfs)[pairs["TF"]].to_numpy()
    col = position[pairs["Target"]].to_numpy()
    overall = correlations(expression, tf_positions)[row, col]
    cell_types = rna.obs["cell_type"].astype(str).to_numpy()
    within = np.column_stack([
        correlations(expression[cell_types == cell_type], tf_positions)[row, col]
        for cell_type in np.unique(cell_types)
    ])
    return {
        "r": overall, "abs_r": np.abs(overall), "abs_r_cell_type_max": np.abs(within).max(axis=1),
        "abs_r_cell_type_mean": np.abs(within).mean(axis=1), "r_cell_type_mean": within.mean(axis=1),
    }


def cell_specific_evidence(pairs: pd.DataFrame, cell_specific: ad.AnnData) -> dict[str, np.ndarray]:
    """The `cell_specific` group's columns from the cells x edges layers `aucell` and `csn`."""
    columns = {}
    for layer in ("aucell", "csn"):
        shares = per_cell_type(pairs, cell_specific_shares(cell_specific, layer), "share")
        columns[f"{layer}_share_max"] = shares.max(axis=1)
        columns[f"{layer}_share_mean"] = shares.mean(axis=1)
    return columns


def pair_evidence(
    rna: ad.AnnData, celltype_tables: Mapping[str, pd.DataFrame], cell_specific: ad.AnnData, *, paired: bool,
) -> pd.DataFrame:
    """The pair-evidence table of the module docstring, from the preprocessed RNA (never its
    `uns['network']`), the cell-type edge tables (cell type -> table) and the cell-specific
    GRNs; the `atac` group only when `paired`."""
    genes, tfs = benchmark_genes(rna), benchmark_tfs(rna)
    pairs = candidate_pairs(tfs, genes)
    columns = {
        **(atac_evidence(pairs, celltype_tables) if paired else {}),
        **grnboost2_evidence(pairs, celltype_tables),
        **coexpression_evidence(rna, pairs, genes, tfs),
        **cell_specific_evidence(pairs, cell_specific),
    }
    groups = ("atac", *RNA_EVIDENCE_GROUPS) if paired else RNA_EVIDENCE_GROUPS
    return pairs.assign(**{name: columns[name] for name in evidence_columns(groups)})


def read_pair_evidence(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A pair-evidence table, checked: `TF, Target`, the columns of the RNA groups, the
    `atac` group's all or none, numbers in every evidence column, each pair once."""
    table = read_table(path, required=list(PAIR_COLUMNS), dtype={"TF": str, "Target": str})
    missing = [c for c in evidence_columns(RNA_EVIDENCE_GROUPS) if c not in table.columns]
    atac = [c for c in EVIDENCE_GROUPS["atac"] if c in table.columns]
    if atac:
        missing += [c for c in EVIDENCE_GROUPS["atac"] if c not in atac]
    if missing:
        raise InputError(path, f"the pair-evidence table lacks column(s) {missing}; found {list(table.columns)}")
    for column in evidence_columns(("atac", *RNA_EVIDENCE_GROUPS) if atac else RNA_EVIDENCE_GROUPS):
        values = pd.to_numeric(table[column], errors="coerce")
        if not np.isfinite(values).all():
            line = int(np.flatnonzero(~np.isfinite(values))[0]) + 2
            value = table[column].iloc[line - 2]
            raise InputError(path, f"column {column!r} holds {value!r}, not a finite number", line=line)
    duplicated = table.duplicated(list(PAIR_COLUMNS))
    if duplicated.any():
        line = int(np.flatnonzero(duplicated)[0]) + 2
        tf, target = table["TF"].iloc[line - 2], table["Target"].iloc[line - 2]
        raise InputError(path, f"the pair {tf} -> {target} appears twice", line=line)
    return table
