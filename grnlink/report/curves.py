"""Precision-recall curves of inferred networks against a cell type's ground truth.

Every TF x benchmark-gene pair (no self loops) is a candidate; a pair the network lacks
scores 0, so the curve covers the whole candidate set like the GRN evaluation does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve

from grnlink import dataset


@dataclass(frozen=True)
class PRCurve:
    """One precision-recall curve with its average precision and the random baseline."""

    precision: np.ndarray
    recall: np.ndarray
    average_precision: float
    prevalence: float
    n_positive: int


def candidate_pairs(tfs: Sequence[str], genes: Sequence[str]) -> pd.DataFrame:
    """`dataset.candidate_pairs` with the edge tables' `target` column name."""
    return dataset.candidate_pairs(tfs, genes).rename(columns={"Target": "target"})


def celltype_truth(network: pd.DataFrame, cell_type: str) -> pd.DataFrame:
    """Ground-truth edges (`TF`, `target`) active in `cell_type`."""
    edges = network.loc[network["cell_type"].astype(str) == cell_type, ["Gene1", "Gene2"]]
    return edges.drop_duplicates().rename(columns={"Gene1": "TF", "Gene2": "target"})


def pr_curve(scores: pd.DataFrame, score_column: str, truth: pd.DataFrame, candidates: pd.DataFrame) -> PRCurve:
    """Curve of `scores[score_column]` (pairs keyed by `TF`, `target`; the largest score of
    a repeated pair) over `candidates`."""
    best = scores.groupby(["TF", "target"], as_index=False)[score_column].max()
    scored = candidates.merge(best, on=["TF", "target"], how="left")
    values = scored[score_column].fillna(0.0).to_numpy(float)
    positive = candidates.merge(truth.assign(_true=1), on=["TF", "target"], how="left")["_true"]
    labels = positive.fillna(0).to_numpy(int)
    if labels.sum() == 0:
        raise ValueError("no ground-truth edge among the candidate pairs")
    precision, recall, _ = precision_recall_curve(labels, values)
    return PRCurve(
        precision=precision,
        recall=recall,
        average_precision=float(average_precision_score(labels, values)),
        prevalence=float(labels.mean()),
        n_positive=int(labels.sum()),
    )
