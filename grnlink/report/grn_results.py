"""Readers of the `grn` stage's outputs, shaped for the report's figures and tables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.io import atomic_path, read_table, write_table
from grnlink.report.curves import PRCurve, candidate_pairs, celltype_truth, pr_curve
from grnlink.report.tables import markdown_table

log = logging.getLogger(__name__)

EVALUATION_REQUIRED = ["network", "scope", "auroc", "auprc"]
CELLTYPE_GRN_REQUIRED = ["TF", "target", "importance", "score"]
CELLTYPE_LINK_REQUIRED = ["TF", "target", "atac_support", "link_correlation"]
# Names of the grn stage's networks (grnlink.grn.evaluate) as the figures show them.
NETWORK_LABELS = {
    "atac_supported": "cell-type GRN (ATAC-supported)",
    "cell_specific": "cell-specific GRNs",
    "grnboost2": "GRNBoost2 (RNA only)",
    "pearson": "|Pearson|",
}
SCOPE_TITLES = {"split": "test pairs of each split", "cell_type": "each cell type's own truth"}
# Bins of the cell-type edges' peak-gene link correlation r (right-closed, the first closed):
# clearly and weakly negative, then positive links of growing strength.
LINK_CORRELATION_BINS = (-1.0, -0.2, 0.0, 0.1, 0.2, 0.4, 1.0)
LINK_PRECISION_COLUMNS = [
    "dataset", "cell_type", "link_correlation", "n_edges", "n_true", "n_supported", "precision", "share_supported",
    "candidate_precision",
]


def read_grn_evaluations(paths: Sequence[str | os.PathLike[str]], datasets: Sequence[str]) -> pd.DataFrame:
    """The evaluation tables of several datasets stacked, with a `dataset` column."""
    if len(paths) != len(datasets):
        raise ValueError(f"{len(paths)} evaluation tables for {len(datasets)} datasets")
    tables = []
    for path, name in zip(paths, datasets):
        table = read_table(path, required=EVALUATION_REQUIRED, dtype={"network": str, "scope": str})
        if table.empty:
            raise InputError(path, "the GRN evaluation table has no rows")
        tables.append(table.drop(columns="dataset", errors="ignore").assign(dataset=name))
    return pd.concat(tables, ignore_index=True)


def cell_types_without_atac_triplets(evaluation: pd.DataFrame) -> list[str]:
    """`dataset/cell_type` of the ATAC-supported GRNs that got no TF -> peak -> gene triplet
    with a positive significant link (`atac_edges` 0 in the grn stage's evaluation; why is
    in that cell type's grn_celltype log), each also logged as a warning."""
    if "atac_edges" not in evaluation:
        return []
    empty = evaluation[(evaluation["network"] == "atac_supported") & (evaluation["atac_edges"] == 0)
                       & (evaluation["cell_type"].astype(str) != "all")]
    names = [f"{d}/{c}" for d, c in dict.fromkeys(zip(empty["dataset"], empty["cell_type"].astype(str)))]
    if names:
        log.warning("ATAC contributed no TF -> peak -> gene triplet with a positive significant link for %s",
                    ", ".join(names))
    return names


def celltype_pr_curves(
    preprocessed: str | os.PathLike[str],
    celltype_grns: Mapping[str, str | os.PathLike[str]],
    baseline_scores: str | os.PathLike[str],
) -> dict[str, dict[str, PRCurve]]:
    """Per cell type, against the edges active in it, over every TF x benchmark-gene pair:
    the cell-type GRN's combined score (ATAC-supported where the data has ATAC), its
    RNA-only GRNBoost2 importance, and GRNBoost2 over all cells.

    The gaps between the lines are what ATAC support and cell-type resolution add.
    """
    rna, atac = dataset.load(preprocessed)
    network = pd.DataFrame(rna.uns["network"])
    candidates = candidate_pairs(dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna))
    baseline = read_table(baseline_scores, required=["TF", "Target", "grnboost2"]).rename(columns={"Target": "target"})
    combined = "cell-type GRN, ATAC-supported" if atac is not None else "cell-type GRN"
    curves: dict[str, dict[str, PRCurve]] = {}
    for cell_type, path in celltype_grns.items():
        truth = celltype_truth(network, cell_type)
        if truth.merge(candidates, on=["TF", "target"]).empty:
            raise InputError(preprocessed, f"the ground truth has no edge among the benchmark genes in {cell_type!r}")
        grn = read_table(path, required=CELLTYPE_GRN_REQUIRED)
        curves[cell_type] = {
            combined: pr_curve(grn, "score", truth, candidates),
            "GRNBoost2 in the cell type (RNA only)": pr_curve(grn, "importance", truth, candidates),
            "GRNBoost2 over all cells": pr_curve(baseline, "grnboost2", truth, candidates),
        }
    return curves


def link_bin_labels() -> list[str]:
    """`[-1, -0.2]`, `(-0.2, 0]`, ...: the `link_correlation` values of the precision table."""
    edges = LINK_CORRELATION_BINS
    return [f"{'[' if i == 0 else '('}{lo:g}, {hi:g}]" for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]


def link_bin_counts(grn: pd.DataFrame, truth: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Per bin of `link_correlation` (`link_bin_labels`, as index), over the edges of one
    cell-type GRN with a TF -> peak -> target triplet: `n_edges`, `n_true` (in `truth`) and
    `n_supported` (atac_support > 0: a positive link significant at grn.link_pvalue)."""
    edges = grn.dropna(subset=["link_correlation"]).merge(candidates, on=["TF", "target"])
    true = edges.merge(truth.drop_duplicates().assign(_true=1), on=["TF", "target"], how="left")["_true"]
    binned = pd.cut(edges["link_correlation"], LINK_CORRELATION_BINS, labels=link_bin_labels(), include_lowest=True)
    counts = pd.DataFrame({
        "bin": binned.array, "n_edges": 1, "n_true": true.fillna(0).to_numpy(int),
        "n_supported": (edges["atac_support"] > 0).to_numpy(int),
    }).groupby("bin", observed=False)[["n_edges", "n_true", "n_supported"]].sum()
    counts.index = counts.index.astype(str)
    return counts


def with_precision(counts: pd.DataFrame, n_candidates: int, n_positive: int) -> pd.DataFrame:
    """Add `precision` (n_true / n_edges, NaN for an empty bin), `share_supported` and the
    `candidate_precision`: the share of true pairs among all `n_candidates` candidate pairs."""
    n_edges = counts["n_edges"].where(counts["n_edges"] > 0)
    return counts.assign(precision=counts["n_true"] / n_edges, share_supported=counts["n_supported"] / n_edges,
                         candidate_precision=n_positive / max(1, n_candidates))


def link_precision_table(
    preprocessed: str | os.PathLike[str], celltype_grns: Mapping[str, str | os.PathLike[str]], dataset_name: str,
) -> pd.DataFrame:
    """`LINK_PRECISION_COLUMNS` of one paired dataset: per cell type and bin of the edges'
    `link_correlation`, the precision of its cell-type GRN's edges against that cell
    type's truth, then the cell types pooled (`cell_type` "all")."""
    rna = dataset.load_rna(preprocessed)
    network = pd.DataFrame(rna.uns["network"])
    candidates = candidate_pairs(dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna))
    parts, pooled, n_candidates, n_positive = [], None, 0, 0
    for cell_type, path in celltype_grns.items():
        truth = celltype_truth(network, cell_type)
        positive = len(truth.merge(candidates, on=["TF", "target"]))
        counts = link_bin_counts(read_table(path, required=CELLTYPE_LINK_REQUIRED), truth, candidates)
        parts.append(with_precision(counts, len(candidates), positive).assign(cell_type=cell_type))
        pooled = counts if pooled is None else pooled + counts
        n_candidates, n_positive = n_candidates + len(candidates), n_positive + positive
    if pooled is not None:
        parts.append(with_precision(pooled, n_candidates, n_positive).assign(cell_type="all"))
    table = pd.concat(parts).rename_axis("link_correlation").reset_index() if parts else pd.DataFrame()
    return table.assign(dataset=dataset_name).reindex(columns=LINK_PRECISION_COLUMNS)


def link_precision_of_datasets(
    cell_types: Mapping[str, Sequence[str]], preprocessed: Sequence[str | os.PathLike[str]],
    celltype_grns: Sequence[str | os.PathLike[str]],
) -> pd.DataFrame:
    """`link_precision_table` of each paired dataset (the keys of `cell_types`, in order,
    with their `preprocessed` objects), stacked; `celltype_grns` lists each dataset's
    tables in the order of its cell types, dataset after dataset."""
    tables, start = [], 0
    for (name, types), path in zip(cell_types.items(), preprocessed, strict=True):
        grns = dict(zip(types, celltype_grns[start:start + len(types)], strict=True))
        tables.append(link_precision_table(path, grns, name))
        start += len(types)
    if start != len(celltype_grns):
        raise ValueError(f"{len(celltype_grns)} cell-type GRNs for {start} cell types")
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=LINK_PRECISION_COLUMNS)


LINK_PRECISION_NOTE = (
    "Edges of each cell-type GRN that have a TF -> peak -> target triplet, binned by their best peak-gene link "
    "correlation r over the metacells (link_correlation); precision = share of them in the cell type's own truth; "
    "share_supported = share with atac_support > 0 (a positive link significant at grn.link_pvalue); "
    "candidate_precision = share of true pairs among all TF x gene candidate pairs (random ranking). "
    "cell_type 'all' pools the cell types. Data without ATAC have no rows."
)


def write_link_precision(
    table: pd.DataFrame, *, tsv: str | os.PathLike[str], markdown: str | os.PathLike[str], decimals: int = 3,
) -> None:
    """The precision-by-link-correlation table as TSV and as Markdown with its note."""
    write_table(table, tsv)
    shown = table.set_index("dataset").round(decimals).astype(object).where(lambda t: t.notna(), "")
    with atomic_path(markdown) as tmp:
        Path(tmp).write_text(markdown_table(shown, LINK_PRECISION_NOTE))
