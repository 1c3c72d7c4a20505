"""AUROC and AUPRC of the inferred networks against the ground truth.

- `split` rows: every network scored on the test pairs of each split seed (the labels of
  the split file; the union of the cell types' truth), as the paper's unsupervised baselines.
- `cell_type` rows (data with ground truth per cell type): each cell type's GRN scored on
  all benchmark TF x gene pairs against that cell type's truth: `grnboost2` (RNA-only
  importance), `atac_supported` (the combined score, data with ATAC) and `cell_specific`
  (the share of the type's cells whose AUCell GRN holds the edge).
Pairs a network does not score count as score 0. Columns: `EVALUATION_COLUMNS` (`seed` is
the split seed, -1 on `cell_type` rows; `cell_type` is `all` on `split` rows).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import average_precision_score, roc_auc_score

from grnlink.dataset import candidate_pairs

EVALUATION_COLUMNS = [
    "network", "scope", "seed", "cell_type", "n_pairs", "n_positive", "auroc", "auprc",
]


def score_pairs(pairs: pd.DataFrame, scores: pd.DataFrame, tf: str, target: str, column: str) -> np.ndarray:
    """The score of each pair (`pairs` has columns TF, Target) from `scores[tf, target, column]`."""
    lookup = scores.groupby([tf, target])[column].max()
    return lookup.reindex(pd.MultiIndex.from_frame(pairs[["TF", "Target"]])).fillna(0.0).to_numpy(float)


def metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUROC and AUPRC; NaN when only one class is present."""
    labels = np.asarray(labels, dtype=int)
    if len(np.unique(labels)) < 2:
        return float("nan"), float("nan")
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def network_scores(baseline: pd.DataFrame, celltype_tables: dict[str, pd.DataFrame], paired: bool) -> dict[str, pd.DataFrame]:
    """Dataset-level networks as `TF, target, score` tables.

    `pearson` and `grnboost2` from the baseline scores; with ATAC, `atac_supported`: the
    largest cell-type score of each edge.
    """
    networks = {
        "pearson": baseline.rename(columns={"Target": "target", "pearson": "score"})[["TF", "target", "score"]],
        "grnboost2": baseline.rename(columns={"Target": "target", "grnboost2": "score"})[["TF", "target", "score"]],
    }
    if paired:
        networks["atac_supported"] = pd.concat(
            [t[["TF", "target", "score"]] for t in celltype_tables.values()], ignore_index=True
        )
    return networks


def evaluate_splits(networks: dict[str, pd.DataFrame], splits: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One row per network and split seed, on the split's test pairs."""
    rows = []
    for seed, split in sorted(splits.items()):
        test = split[split["part"] == "test"]
        for name, table in networks.items():
            auroc, auprc = metrics(test["label"].to_numpy(), score_pairs(test, table, "TF", "target", "score"))
            rows.append((name, "split", seed, "all", len(test), int(test["label"].sum()), auroc, auprc))
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)


def cell_specific_shares(cell_specific: ad.AnnData, layer_name: str = "aucell") -> dict[str, pd.DataFrame]:
    """Per cell type, `TF, target, share`: the share of its cells whose GRN of the layer
    `layer_name` (`aucell`, `csn`) holds the edge (has an entry for it)."""
    layer = sp.csr_matrix(cell_specific.layers[layer_name], dtype=np.float32, copy=True)
    layer.data[:] = 1.0
    cell_types = cell_specific.obs["cell_type"].astype(str).to_numpy()
    shares = {}
    for cell_type in np.unique(cell_types):
        share = np.asarray(layer[cell_types == cell_type].mean(axis=0)).ravel()
        shares[cell_type] = pd.DataFrame({
            "TF": cell_specific.var["TF"].astype(str).to_numpy(),
            "target": cell_specific.var["target"].astype(str).to_numpy(),
            "share": share,
        })
    return shares


def evaluate_cell_types(
    celltype_tables: dict[str, pd.DataFrame], truth: pd.DataFrame, tfs: list[str], genes: list[str], paired: bool,
    cell_specific: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per cell type: RNA-only GRNBoost2 importance, (with ATAC) the ATAC-supported score and
    (given `cell_specific_shares`) the cell-specific GRNs' edge shares.

    `truth` has columns Gene1, Gene2, cell_type; candidate pairs are every TF x gene pair
    without self loops.
    """
    pairs = candidate_pairs(tfs, genes)
    rows = []
    for cell_type, table in celltype_tables.items():
        edges = truth[truth["cell_type"].astype(str) == cell_type]
        if edges.empty:
            continue
        positive = set(zip(edges["Gene1"], edges["Gene2"]))
        labels = np.array([(a, b) in positive for a, b in zip(pairs["TF"], pairs["Target"])], dtype=int)
        networks = {"grnboost2": (table, "importance")}
        if paired:
            networks["atac_supported"] = (table, "score")
        if cell_specific is not None and cell_type in cell_specific:
            networks["cell_specific"] = (cell_specific[cell_type], "share")
        for name, (scores, column) in networks.items():
            auroc, auprc = metrics(labels, score_pairs(pairs, scores, "TF", "target", column))
            rows.append((name, "cell_type", -1, cell_type, len(pairs), int(labels.sum()), auroc, auprc))
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
