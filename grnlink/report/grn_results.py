"""Readers of the `grn` stage's outputs, shaped for the report's figures."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.io import read_table
from grnlink.report.curves import PRCurve, candidate_pairs, celltype_truth, pr_curve

log = logging.getLogger(__name__)

EVALUATION_REQUIRED = ["network", "scope", "auroc", "auprc"]
CELLTYPE_GRN_REQUIRED = ["TF", "target", "importance", "score"]
# Names of the grn stage's networks (grnlink.grn.evaluate) as the figures show them.
NETWORK_LABELS = {
    "atac_supported": "cell-type GRN (ATAC-supported)",
    "cell_specific": "cell-specific GRNs",
    "grnboost2": "GRNBoost2 (RNA only)",
    "pearson": "|Pearson|",
}
SCOPE_TITLES = {"split": "test pairs of each split", "cell_type": "each cell type's own truth"}


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
    (`atac_edges` 0 in the grn stage's evaluation; why is in that cell type's grn_celltype
    log), each also logged as a warning."""
    if "atac_edges" not in evaluation:
        return []
    empty = evaluation[(evaluation["network"] == "atac_supported") & (evaluation["atac_edges"] == 0)
                       & (evaluation["cell_type"].astype(str) != "all")]
    names = [f"{d}/{c}" for d, c in dict.fromkeys(zip(empty["dataset"], empty["cell_type"].astype(str)))]
    if names:
        log.warning("ATAC contributed no TF -> peak -> gene triplet for %s", ", ".join(names))
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
