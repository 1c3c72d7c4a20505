"""Regulons from a cell-type GRN: a TF with its positively correlated targets.

Like pySCENIC's `modules_from_adjacencies` "top TFs per target" strategy: only edges whose
TF and target are positively correlated in the cell type (r > `min_correlation`) count;
each target joins the regulons of its `top_tfs` best-scored such TFs; regulons with fewer
than `min_size` targets are dropped.
"""

from __future__ import annotations

import pandas as pd

REGULON_COLUMNS = ["regulon", "TF", "target", "score"]


def regulons_from_edges(edges: pd.DataFrame, top_tfs: int, min_correlation: float, min_size: int) -> pd.DataFrame:
    """Regulon membership, one row per (regulon, target); regulons are named `TF(+)`."""
    candidates = edges[(edges["score"] > 0) & (edges["correlation"] > min_correlation)]
    ranked = candidates.sort_values(["target", "score", "TF"], ascending=[True, False, True])
    kept = ranked.groupby("target", sort=False).head(top_tfs)
    sizes = kept.groupby("TF")["target"].transform("size")
    kept = kept[sizes >= min_size]
    out = kept.assign(regulon=kept["TF"] + "(+)")[REGULON_COLUMNS]
    return out.sort_values(["regulon", "score", "target"], ascending=[True, False, True]).reset_index(drop=True)
