"""Chromatin accessibility evidence for TF -> gene edges: TF -> peak -> gene triplets.

A peak links to a gene when it lies within `window` bp of the gene's TSS; the link is
scored by the Pearson correlation r of the peak's accessibility with the gene's expression
across metacells (small groups of similar cells of one cell type, which average out the
sparsity of single-cell counts), and by the one-sided p-value of r > 0 over those n
metacells (t = r sqrt((n - 2) / (1 - r^2)), n - 2 degrees of freedom). A TF reaches a gene
through a linked peak that holds the TF's motif (motif hit table) and is accessible in the
cell type; the link supports the TF -> gene edge only when it is positive and significant.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from grnlink.errors import InputError

PEAK_PATTERN = re.compile(r"^([^:\s]+):(\d+)-(\d+)$")
MOTIF_COLUMNS = ["TF", "peak"]
TRIPLET_COLUMNS = ["TF", "peak", "target", "link_correlation", "link_pvalue", "accessibility"]
SUPPORT_COLUMNS = ["TF", "target", "atac_support", "peaks", "link_correlation"]


def read_motif_hits(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a motif hit table (tab-separated, header `TF<TAB>peak`) and check it.

    A line with the wrong number of fields, an empty TF or a peak that is not
    `chr:start-end` fails with the file and line named.
    """
    rows: list[tuple[str, str]] = []
    try:
        with open(path) as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
            if header[:2] != MOTIF_COLUMNS or len(header) != 2:
                raise InputError(path, f"header must be 'TF<TAB>peak', found {header}", line=1)
            for line_no, line in enumerate(handle, start=2):
                fields = line.rstrip("\r\n").split("\t")
                if fields == [""]:
                    continue
                if len(fields) != 2:
                    raise InputError(path, f"expected 2 tab-separated fields (TF, peak), found {len(fields)}", line=line_no)
                rows.append((fields[0], fields[1]))
                _check_motif_row(fields[0], fields[1], path, line_no)
    except FileNotFoundError as err:
        raise InputError(path, "file not found") from err
    return pd.DataFrame(rows, columns=MOTIF_COLUMNS).drop_duplicates().reset_index(drop=True)


def check_motif_hits(hits: pd.DataFrame, source: str | os.PathLike[str]) -> pd.DataFrame:
    """Check a motif table already in memory (e.g. `atac.uns['motif_hits']`); rows are 1-based."""
    hits = pd.DataFrame(hits)
    missing = [c for c in MOTIF_COLUMNS if c not in hits.columns]
    if missing:
        raise InputError(source, f"motif hit table lacks column(s) {missing}; found {list(hits.columns)}")
    for row, (tf, peak) in enumerate(zip(hits["TF"], hits["peak"]), start=1):
        _check_motif_row(tf, peak, source, row, what="row")
    return hits[MOTIF_COLUMNS].astype(str).drop_duplicates().reset_index(drop=True)


def _check_motif_row(tf: object, peak: object, path: str | os.PathLike[str], row: int, what: str = "line") -> None:
    where = {"line": row} if what == "line" else {}
    prefix = "" if what == "line" else f"row {row}: "
    if not isinstance(tf, str) or not tf.strip():
        raise InputError(path, f"{prefix}empty TF name", **where)
    match = PEAK_PATTERN.match(str(peak))
    if match is None or int(match.group(2)) >= int(match.group(3)):
        raise InputError(path, f"{prefix}peak name {peak!r} is not 'chr:start-end' with start < end", **where)


def metacell_labels(embedding: np.ndarray, cells_per_metacell: int, seed: int, min_metacells: int = 5) -> np.ndarray:
    """Group cells (rows of a low-dimensional `embedding`, e.g. ATAC LSI) into metacells by k-means."""
    n_cells = embedding.shape[0]
    n_metacells = int(np.clip(n_cells // max(1, cells_per_metacell), min(min_metacells, n_cells), n_cells))
    if n_metacells >= n_cells:
        return np.arange(n_cells)
    return KMeans(n_clusters=n_metacells, n_init=1, random_state=seed).fit_predict(embedding)


def embedding_for_metacells(atac_lsi: np.ndarray | None, expression: np.ndarray, seed: int, n_components: int = 20) -> np.ndarray:
    """The ATAC LSI of the preprocessed object; without it, principal components of expression."""
    if atac_lsi is not None:
        return np.asarray(atac_lsi, dtype=np.float64)
    n_components = max(1, min(n_components, expression.shape[0] - 1, expression.shape[1]))
    return PCA(n_components=n_components, random_state=seed).fit_transform(expression)


def aggregate_metacells(expression: np.ndarray, peak_counts: sp.spmatrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metacell means of expression and log accessibility (counts per 10k of the metacell)."""
    n = int(labels.max()) + 1
    membership = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n, len(labels)))
    sizes = np.asarray(membership.sum(axis=1)).ravel()
    mean_expression = np.asarray(membership @ expression) / sizes[:, None]
    counts = np.asarray((membership @ sp.csr_matrix(peak_counts)).todense(), dtype=np.float64)
    depth = counts.sum(axis=1, keepdims=True)
    accessibility = np.log1p(counts / np.maximum(depth, 1.0) * 1e4)
    return mean_expression, accessibility


def peaks_near_genes(peaks: pd.DataFrame, gene_chrom: Sequence[str], gene_tss: Sequence[int], window: int) -> pd.DataFrame:
    """Pairs `(peak_index, gene_index)` whose peak overlaps the TSS +- `window` bp."""
    peak_chrom = peaks["chrom"].to_numpy()
    peak_start = peaks["start"].to_numpy(np.int64)
    peak_end = peaks["end"].to_numpy(np.int64)
    gene_chrom = np.asarray(gene_chrom).astype(str)
    gene_tss = np.asarray(gene_tss, dtype=np.int64)
    pairs = []
    for chrom in np.intersect1d(np.unique(peak_chrom), np.unique(gene_chrom)):
        on_chrom = np.flatnonzero(peak_chrom == chrom)
        order = on_chrom[np.argsort(peak_start[on_chrom], kind="stable")]
        starts = peak_start[order]
        longest = int((peak_end[order] - starts).max())
        for g in np.flatnonzero(gene_chrom == chrom):
            lo = np.searchsorted(starts, gene_tss[g] - window - longest, side="left")
            hi = np.searchsorted(starts, gene_tss[g] + window, side="right")
            candidates = order[lo:hi]
            near = candidates[peak_end[candidates] >= gene_tss[g] - window]
            pairs += [(p, g) for p in near]
    return pd.DataFrame(pairs, columns=["peak_index", "gene_index"], dtype=np.int64)


def pair_correlations(x: np.ndarray, y: np.ndarray, x_index: np.ndarray, y_index: np.ndarray) -> np.ndarray:
    """Pearson r between columns `x[:, x_index[i]]` and `y[:, y_index[i]]` (0 for constant columns)."""
    xs = standardise(x)
    ys = standardise(y)
    return np.einsum("ij,ij->j", xs[:, x_index], ys[:, y_index]) / max(1, x.shape[0])


def link_pvalues(r: np.ndarray, n_metacells: int) -> np.ndarray:
    """One-sided p-value of each correlation `r` being > 0 over `n_metacells` (Student's t
    with n - 2 degrees of freedom); 1 when there are fewer than 3 metacells."""
    r = np.clip(np.asarray(r, dtype=np.float64), -1.0, 1.0)
    if n_metacells < 3:
        return np.ones_like(r)
    df = n_metacells - 2
    with np.errstate(divide="ignore"):
        t = r * np.sqrt(df / (1.0 - r**2))
    return stats.t.sf(t, df)


def standardise(a: np.ndarray) -> np.ndarray:
    """Columns z-scored (population sd); constant columns become 0."""
    a = np.asarray(a, dtype=np.float64)
    sd = a.std(axis=0)
    return np.where(sd > 0, (a - a.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)


def triplets(
    links: pd.DataFrame, motif_hits: pd.DataFrame, peak_names: Sequence[str], gene_names: Sequence[str],
    tfs: Sequence[str],
) -> pd.DataFrame:
    """Join peak -> gene links with TF -> peak motif hits into TF -> peak -> gene triplets.

    `links` has `peak_index, gene_index, link_correlation, link_pvalue, accessibility`;
    TFs outside `tfs` and self loops are dropped.
    """
    named = links.assign(
        peak=np.asarray(peak_names)[links["peak_index"].to_numpy()],
        target=np.asarray(gene_names)[links["gene_index"].to_numpy()],
    )
    hits = motif_hits[motif_hits["TF"].isin(set(tfs))]
    joined = hits.merge(named, on="peak", how="inner")
    joined = joined[joined["TF"] != joined["target"]]
    return joined[TRIPLET_COLUMNS].sort_values(["TF", "target", "peak"]).reset_index(drop=True)


def edge_support(triplet_table: pd.DataFrame, max_pvalue: float) -> pd.DataFrame:
    """Per TF -> target with at least one triplet (`SUPPORT_COLUMNS`):

    - `atac_support`: the best link correlation among the triplets whose peak-gene link is
      positive with `link_pvalue < max_pvalue`, in (0, 1]; 0 when no link is;
    - `peaks`: the peaks of those triplets by decreasing link correlation, ';'-joined
      (empty when none);
    - `link_correlation`: the best link correlation among all its triplets, whatever its
      sign or significance.
    """
    if triplet_table.empty:
        return pd.DataFrame(columns=SUPPORT_COLUMNS)
    r = triplet_table["link_correlation"].clip(-1, 1)
    significant = triplet_table[(r > 0) & (triplet_table["link_pvalue"] < max_pvalue)].assign(support=r)
    significant = significant.sort_values(["TF", "target", "support", "peak"], ascending=[True, True, False, True])
    by_edge = significant.groupby(["TF", "target"], sort=True)
    best = triplet_table.groupby(["TF", "target"], sort=True)["link_correlation"].max()
    table = pd.DataFrame({"link_correlation": best})
    table["atac_support"] = by_edge["support"].max().reindex(table.index).fillna(0.0)
    table["peaks"] = by_edge["peak"].agg(";".join).reindex(table.index).fillna("")
    return table.reset_index()[SUPPORT_COLUMNS]
