"""Cell-specific GRNs, refining each cell type's GRN to single cells.

- AUCell (pySCENIC): regulon activity per cell, binarised per regulon with pySCENIC's
  threshold (a two-component mixture's trough when bimodal, else mean + 2 sd). A cell's
  GRN is the union of the edges of its cell type's regulons active in it.
- CSN (Dai et al. 2019): for a candidate edge x -> y and cell k among n cells,
  `d = (n n_xy - n_x n_y) / sqrt(n_x n_y (n - n_x) (n - n_y) / (n - 1))`, where n_x counts
  the cells whose x lies in the box around x_k (the `box_fraction` of cells nearest by rank),
  n_y likewise and n_xy the cells in both boxes; the edge is present when d > threshold.
  Computed within the cell's type, on that type's regulon edges, in chunks of cells so that
  the box matrices stay under the memory budget.

The result is an AnnData cells x edges (`var`: TF, target) with sparse layers `aucell`
(1 where the edge is in the cell's GRN) and `csn` (d where d > threshold).
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink.grn.celltype import cells_of, dense
from grnlink.grn.regulons import regulons_from_edges
from grnlink.settings import CellSpecificGrnSettings

log = logging.getLogger(__name__)


def regulon_activity(expression: pd.DataFrame, regulons: pd.DataFrame, auc_threshold: float, seed: int) -> pd.DataFrame:
    """AUCell AUC per cell (rows) and regulon (columns), with pySCENIC's `aucell`."""
    from ctxcore.genesig import GeneSignature
    from pyscenic.aucell import aucell

    signatures = [
        GeneSignature(name=name, gene2weight=dict.fromkeys(group["target"], 1.0))
        for name, group in regulons.groupby("regulon", sort=True)
    ]
    auc = aucell(expression, signatures, auc_threshold=auc_threshold, seed=seed, num_workers=1)
    # pySCENIC's single-worker path returns the cells sorted by name: restore their order
    return auc.reindex(index=expression.index, columns=[s.name for s in signatures])


def binarise(auc: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """On/off per cell and regulon with pySCENIC's per-regulon threshold.

    pySCENIC decides bimodality with Hartigan's dip test by default, which calls
    `numpy.msort` (removed in NumPy 2); its BIC criterion (one vs two Gaussian mixture
    components) is used instead.
    """
    from pyscenic.binarization import derive_threshold

    thresholds = pd.Series({
        # a constant AUC (e.g. a regulon never among the top genes) has no on state and
        # would break the density estimate
        name: derive_threshold(auc, name, seed=seed, method="bic") if auc[name].nunique() > 1 else auc[name].max()
        for name in auc.columns
    }, dtype=float)
    return auc > thresholds, thresholds


def csn_statistics(
    values: np.ndarray, tf_idx: np.ndarray, target_idx: np.ndarray, box_fraction: float, threshold: float,
    chunk_bytes: int,
) -> sp.csr_matrix:
    """CSN statistic d of each edge (columns) in each cell (rows); entries d <= threshold dropped.

    `values` is cells x genes; edges are index pairs into its columns. Cells are processed
    in chunks so that the bit-packed box matrices take at most about `chunk_bytes`.
    """
    n_cells = values.shape[0]
    if len(tf_idx) == 0:
        return sp.csr_matrix((n_cells, 0), dtype=np.float32)
    used = np.unique(np.concatenate([tf_idx, target_idx]))
    position = {g: i for i, g in enumerate(used)}
    x = np.array([position[g] for g in tf_idx], dtype=np.int64)
    y = np.array([position[g] for g in target_idx], dtype=np.int64)
    v = values[:, used]
    lower, upper = _box_bounds(v, box_fraction)  # cells x genes
    packed_cells = (n_cells + 7) // 8
    # per chunk cell: the packed boxes of every used gene plus one gene's unpacked box
    chunk = max(1, chunk_bytes // max(1, len(used) * packed_cells + 2 * n_cells))
    rows, cols, data = [], [], []
    for start in range(0, n_cells, chunk):
        k = np.arange(start, min(n_cells, start + chunk))
        # bits[g, i]: packed indicator over cells j of "v[j, g] lies in gene g's box around cell k[i]"
        bits = np.empty((len(used), len(k), packed_cells), dtype=np.uint8)
        for g in range(len(used)):
            in_box = (v[None, :, g] >= lower[k, g, None]) & (v[None, :, g] <= upper[k, g, None])
            bits[g] = np.packbits(in_box, axis=1)
        n_g = np.bitwise_count(bits).sum(axis=2)  # genes x chunk
        n_xy = np.stack([np.bitwise_count(bits[a] & bits[b]).sum(axis=1) for a, b in zip(x, y)], axis=1)
        d = _csn_d(n_cells, n_g[x].T, n_g[y].T, n_xy)
        r, c = np.nonzero(d > threshold)
        rows.append(k[r])
        cols.append(c)
        data.append(d[r, c])
    return sp.csr_matrix(
        (np.concatenate(data).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_cells, len(tf_idx)),
    )


def _box_bounds(values: np.ndarray, box_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Per cell and gene, the value range of the box: the cells within h ranks either side."""
    n = values.shape[0]
    h = max(1, int(round(box_fraction * n / 2)))
    order = np.argsort(values, axis=0, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n)[:, None].repeat(values.shape[1], axis=1), axis=0)
    lower = np.take_along_axis(sorted_values, np.clip(rank - h, 0, n - 1), axis=0)
    upper = np.take_along_axis(sorted_values, np.clip(rank + h, 0, n - 1), axis=0)
    return lower, upper


def _csn_d(n: int, n_x: np.ndarray, n_y: np.ndarray, n_xy: np.ndarray) -> np.ndarray:
    n_x = n_x.astype(np.float64)
    n_y = n_y.astype(np.float64)
    variance = n_x * n_y * (n - n_x) * (n - n_y) / max(1, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (n * n_xy - n_x * n_y) / np.sqrt(variance)
    return np.where(variance > 0, d, 0.0)


def cell_specific_grns(
    rna: ad.AnnData, celltype_tables: dict[str, pd.DataFrame], settings: CellSpecificGrnSettings, source: str
) -> ad.AnnData:
    """Cells x edges AnnData with layers `aucell` and `csn` (see the module docstring)."""
    regulons = {
        ct: regulons_from_edges(t, settings.regulon_top_tfs, settings.regulon_min_correlation, settings.regulon_min_size)
        for ct, t in celltype_tables.items()
    }
    all_members = pd.concat([r.assign(cell_type=ct) for ct, r in regulons.items()], ignore_index=True)
    edges = all_members[["TF", "target"]].drop_duplicates().sort_values(["TF", "target"]).reset_index(drop=True)
    edge_id = pd.Series(np.arange(len(edges)), index=pd.MultiIndex.from_frame(edges))
    gene_index = pd.Series(np.arange(rna.n_vars), index=rna.var_names)
    aucell_parts, csn_parts, thresholds = [], [], []
    chunk_bytes = settings.chunk_mb * 2**20
    for ct, members in regulons.items():
        cells = np.flatnonzero(cells_of(rna, ct, source))
        if members.empty:
            log.info("%s: no regulon of at least %d targets", ct, settings.regulon_min_size)
            continue
        type_edges = members[["TF", "target"]].drop_duplicates()
        type_edge_ids = edge_id[pd.MultiIndex.from_frame(type_edges)].to_numpy()
        expression = dense(rna.X[cells])
        auc = regulon_activity(
            pd.DataFrame(expression, index=rna.obs_names[cells], columns=rna.var_names), members,
            settings.aucell_auc_threshold, settings.seed,
        )
        active, cutoffs = binarise(auc, settings.seed)
        thresholds.append(pd.DataFrame({"cell_type": ct, "regulon": cutoffs.index, "threshold": cutoffs.to_numpy()}))
        membership = _regulon_edge_matrix(members, list(auc.columns), edge_id, len(edges))
        in_grn = (sp.csr_matrix(active.to_numpy(np.float32)) @ membership).sign().tocoo()
        aucell_parts.append((cells[in_grn.row], in_grn.col, in_grn.data))
        csn = csn_statistics(
            expression, gene_index[type_edges["TF"]].to_numpy(), gene_index[type_edges["target"]].to_numpy(),
            settings.csn_box_fraction, settings.csn_threshold, chunk_bytes,
        ).tocoo()
        csn_parts.append((cells[csn.row], type_edge_ids[csn.col], csn.data))
        log.info("%s: %d cells, %d regulons, %d edges; mean active regulons per cell %.1f",
                 ct, len(cells), auc.shape[1], len(type_edges), active.to_numpy().sum(axis=1).mean())
    aucell_layer = _assemble(aucell_parts, (rna.n_obs, len(edges)))
    csn_layer = _assemble(csn_parts, (rna.n_obs, len(edges)))
    result = ad.AnnData(
        X=aucell_layer.copy(),
        obs=pd.DataFrame({"cell_type": rna.obs["cell_type"].to_numpy()}, index=rna.obs_names),
        var=edges.set_index(edges["TF"] + "->" + edges["target"]),
        layers={"aucell": aucell_layer, "csn": csn_layer},
    )
    result.var.index.name = "edge"
    result.uns["regulons"] = all_members[["cell_type", "regulon", "TF", "target", "score"]]
    result.uns["aucell_thresholds"] = (
        pd.concat(thresholds, ignore_index=True) if thresholds else pd.DataFrame(columns=["cell_type", "regulon", "threshold"])
    )
    return result


def _regulon_edge_matrix(members: pd.DataFrame, regulon_order: list[str], edge_id: pd.Series, n_edges: int) -> sp.csr_matrix:
    """Regulons x edges 0/1 matrix."""
    row = pd.Series(np.arange(len(regulon_order)), index=regulon_order)[members["regulon"]].to_numpy()
    col = edge_id[pd.MultiIndex.from_frame(members[["TF", "target"]])].to_numpy()
    return sp.csr_matrix((np.ones(len(members), np.float32), (row, col)), shape=(len(regulon_order), n_edges))


def _assemble(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], shape: tuple[int, int]) -> sp.csr_matrix:
    if not parts:
        return sp.csr_matrix(shape, dtype=np.float32)
    rows, cols, data = (np.concatenate(p) for p in zip(*parts))
    return sp.csr_matrix((data.astype(np.float32), (rows, cols)), shape=shape)
