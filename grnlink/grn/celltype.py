"""Cell-type GRNs (GRNBoost2 + ATAC triplets) and the unsupervised baseline scores.

Edge table of one cell type, one row per TF -> target edge found by GRNBoost2 or by the
ATAC triplets (benchmark TFs -> benchmark genes, no self loops):

- `importance`: GRNBoost2 importance on the cell type's cells (0: not selected by the trees);
- `atac_support`: the best peak-gene link correlation r among the edge's TF -> peak ->
  target triplets whose link is positive and significant (one-sided p-value over the
  metacells below `link_pvalue`), in (0, 1]; 0 when no triplet's link is, or when there is
  no motif-carrying peak near the target accessible in the cell type;
- `peaks`: the supporting peaks (those significant links), ';'-joined by decreasing r
  (empty when unsupported and for RNA-only data);
- `link_correlation`: the best link r among all the edge's triplets, whatever its sign or
  significance (NaN when the edge has no triplet, and for RNA-only data);
- `correlation`: Pearson r of TF and target over the cell type's cells;
- `score`: the ATAC-supported edge score `(1 - atac_weight) * importance percentile +
  atac_weight * atac_support` (RNA-only data: the importance percentile).
"""

from __future__ import annotations

import logging
import os

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink.dataset import BASELINE_COLUMNS, benchmark_genes, benchmark_tfs, candidate_pairs
from grnlink.errors import InputError
from grnlink.grn import atac as atac_lib
from grnlink.grn.grnboost import infer_links
from grnlink.readers import parse_peaks
from grnlink.settings import CellTypeGrnSettings

log = logging.getLogger(__name__)

EDGE_COLUMNS = ["TF", "target", "importance", "atac_support", "peaks", "link_correlation", "correlation", "score"]


def dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float64)


def cells_of(rna: ad.AnnData, cell_type: str, source: str | os.PathLike[str]) -> np.ndarray:
    mask = (rna.obs["cell_type"].astype(str) == cell_type).to_numpy()
    if not mask.any():
        found = sorted(rna.obs["cell_type"].astype(str).unique())
        raise InputError(source, f"no cells of cell type {cell_type!r}; the data has {found}")
    return mask


def celltype_grn(
    rna: ad.AnnData,
    atac: ad.AnnData | None,
    cell_type: str,
    settings: CellTypeGrnSettings,
    source: str | os.PathLike[str],
    *,
    n_jobs: int = 1,
    scheduler_address: str | None = None,
    motif_hits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The edge table of one cell type (see the module docstring).

    `motif_hits` (TF, peak) overrides `atac.uns['motif_hits']`; `source` names the
    preprocessed file in error messages. GRNBoost2 runs on `n_jobs` local processes, or on
    the dask cluster at `scheduler_address`.
    """
    mask = cells_of(rna, cell_type, source)
    genes, tfs = benchmark_genes(rna), benchmark_tfs(rna)
    if not tfs:
        raise InputError(source, "no TF among the benchmark genes (rna.var is_tf & selected)")
    support = None
    if atac is not None:  # ATAC first: bad ATAC input fails before the long regressions
        if motif_hits is None and "motif_hits" not in atac.uns:
            raise InputError(source, "atac.uns has no 'motif_hits': give a table (grn.motif_hits) or a genome FASTA "
                                     "to scan (grn.genome_fasta) for this dataset")
        hits = motif_hits if motif_hits is not None else atac_lib.check_motif_hits(atac.uns["motif_hits"], source)
        support = atac_support(rna, atac, mask, hits, settings, source, cell_type=cell_type)
    expression = dense(rna[mask, genes].X)
    log.info("%s: GRNBoost2 (%s) on %d cells, %d TFs, %d targets", cell_type, settings.boosting.backend, mask.sum(),
             len(tfs), len(genes))
    links = infer_links(
        expression, genes, tfs, genes, settings.boosting, n_jobs=n_jobs, scheduler_address=scheduler_address,
    )
    return edge_table(links, support, expression, genes, settings.atac_weight)


def atac_support(
    rna: ad.AnnData, atac: ad.AnnData, mask: np.ndarray, motif_hits: pd.DataFrame, settings: CellTypeGrnSettings,
    source: str | os.PathLike[str], *, cell_type: str,
) -> pd.DataFrame:
    """TF -> target ATAC support in `cell_type`, its cells `mask` (`atac.SUPPORT_COLUMNS`:
    TF, target, atac_support, peaks, link_correlation); a WARNING says why when no edge is
    supported."""
    genes, tfs = benchmark_genes(rna), benchmark_tfs(rna)
    missing = [c for c in ("chrom", "tss") if c not in rna.var]
    if missing:
        raise InputError(source, f"rna.var lacks {missing}, needed to link peaks to genes")
    if "counts" not in atac.layers:
        raise InputError(source, "atac.layers lacks 'counts'")
    if not np.array_equal(atac.obs_names, rna.obs_names):
        raise InputError(source, "rna and atac do not hold the same cells in the same order")
    peaks = parse_peaks(atac.var_names, source)
    gene_var = rna.var.loc[genes]
    pairs = atac_lib.peaks_near_genes(peaks, gene_var["chrom"].astype(str), gene_var["tss"].astype(np.int64), settings.peak_window)
    counts = sp.csr_matrix(atac.layers["counts"])
    expression = dense(rna[:, genes].X)
    scope = mask if settings.link_correlation_scope == "cell_type" else np.ones(len(mask), bool)
    embedding = atac_lib.embedding_for_metacells(atac.obsm.get("X_lsi"), expression, settings.seed)
    labels = metacells_within_types(embedding[scope], rna.obs["cell_type"].astype(str).to_numpy()[scope], settings)
    meta_expression, meta_access = atac_lib.aggregate_metacells(expression[scope], counts[scope], labels)
    n_metacells = meta_expression.shape[0]
    accessible = np.asarray((counts[mask] > 0).mean(axis=0)).ravel()
    link_r = atac_lib.pair_correlations(
        meta_access, meta_expression, pairs["peak_index"].to_numpy(), pairs["gene_index"].to_numpy()
    )
    pairs = pairs.assign(
        link_correlation=link_r, link_pvalue=atac_lib.link_pvalues(link_r, n_metacells),
        accessibility=accessible[pairs["peak_index"].to_numpy()],
    )
    open_pairs = pairs[pairs["accessibility"] >= settings.min_accessibility]
    table = atac_lib.triplets(open_pairs, motif_hits, list(atac.var_names), genes, tfs)
    passing = int(((table["link_correlation"] > 0) & (table["link_pvalue"] < settings.link_pvalue)).sum())
    log.info("ATAC: %d peak-gene pairs within %d bp, %d accessible, %d TF-peak-gene triplets, %d of them with a "
             "positive link at p < %g over %d metacells", len(pairs), settings.peak_window, len(open_pairs),
             len(table), passing, settings.link_pvalue, n_metacells)
    if table.empty:
        reason = no_triplet_reason(motif_hits, tfs, pairs, open_pairs, settings)
        log.warning("%s: ATAC contributes no TF -> peak -> gene triplet (%s): the edge scores are the GRNBoost2 "
                    "importance alone", cell_type, reason)
    elif passing == 0:
        log.warning("%s: ATAC supports no edge: none of the %d TF -> peak -> gene triplets has a positive peak-gene "
                    "link with p < grn.link_pvalue (%g) over %d metacells: the edge scores are the GRNBoost2 "
                    "importance alone", cell_type, len(table), settings.link_pvalue, n_metacells)
    return atac_lib.edge_support(table, settings.link_pvalue)


def no_triplet_reason(
    motif_hits: pd.DataFrame, tfs: list[str], pairs: pd.DataFrame, open_pairs: pd.DataFrame,
    settings: CellTypeGrnSettings,
) -> str:
    """Which step of TF -> peak -> gene came up empty, first one first (`pairs`: peak-gene
    pairs near a TSS, `open_pairs`: those accessible in the cell type)."""
    if motif_hits.empty:
        return "TF -> peak: the motif hit table is empty (give grn.motif_hits or grn.genome_fasta)"
    if not motif_hits["TF"].isin(set(tfs)).any():
        return "TF -> peak: no motif hit of a benchmark TF"
    if pairs.empty:
        return f"peak -> gene: no peak within grn.peak_window ({settings.peak_window} bp) of a benchmark gene's TSS"
    if open_pairs.empty:
        return (f"peak -> gene: no peak near a benchmark gene is open in grn.min_accessibility "
                f"({settings.min_accessibility}) of the cell type's cells")
    return "TF -> peak -> gene: no open peak near a gene holds the motif of a benchmark TF other than the gene"


def metacells_within_types(embedding: np.ndarray, cell_types: np.ndarray, settings: CellTypeGrnSettings) -> np.ndarray:
    """Metacell labels, numbered across types; metacells never mix cell types."""
    labels = np.empty(len(cell_types), dtype=np.int64)
    offset = 0
    for cell_type in np.unique(cell_types):
        idx = np.flatnonzero(cell_types == cell_type)
        local = atac_lib.metacell_labels(embedding[idx], settings.cells_per_metacell, settings.seed)
        labels[idx] = local + offset
        offset += int(local.max()) + 1
    return labels


def edge_table(
    links: pd.DataFrame, support: pd.DataFrame | None, expression: np.ndarray, genes: list[str], atac_weight: float
) -> pd.DataFrame:
    """Join GRNBoost2 links with the ATAC support (every edge with a triplet, supported or
    not); add correlation and the combined score."""
    table = links[["TF", "target", "importance"]]
    if support is not None and len(support):
        table = table.merge(support, on=["TF", "target"], how="outer")
    table = table.reindex(columns=["TF", "target", "importance", "atac_support", "peaks", "link_correlation"])
    table = table.fillna({"importance": 0.0, "atac_support": 0.0, "peaks": ""}).astype({"link_correlation": float})
    index = {g: i for i, g in enumerate(genes)}
    tf_idx = table["TF"].map(index).to_numpy(np.int64)
    target_idx = table["target"].map(index).to_numpy(np.int64)
    table["correlation"] = atac_lib.pair_correlations(expression, expression, tf_idx, target_idx)
    percentile = table["importance"].where(table["importance"] > 0).rank(pct=True).fillna(0.0)
    weight = atac_weight if support is not None else 0.0
    table["score"] = (1 - weight) * percentile + weight * table["atac_support"]
    table = table.sort_values(["score", "importance", "TF", "target"], ascending=[False, False, True, True])
    return table[EDGE_COLUMNS].reset_index(drop=True)


def atac_supported_edges(table: pd.DataFrame) -> set[tuple[str, str]]:
    """The `(TF, target)` edges of an edge table that a TF -> peak -> target triplet supports."""
    supported = table[table["peaks"] != ""]
    return set(zip(supported["TF"], supported["target"]))


def read_edge_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A cell-type edge table (`EDGE_COLUMNS`); empty `peaks` stay empty strings, an empty
    `link_correlation` is NaN."""
    from grnlink.io import read_table

    return read_table(path, required=EDGE_COLUMNS, keep_default_na=False, na_values={"link_correlation": [""]},
                      dtype={"peaks": str})


def baseline_scores(rna: ad.AnnData, celltype_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """`TF, Target, pearson, grnboost2, celltype_grn` for every benchmark TF x benchmark gene
    pair (no self pairs).

    `pearson` is |r| over all cells; `grnboost2` the largest importance over the cell-type
    GRNs (for one-cell-type data, the importance over all cells); `celltype_grn` the largest
    combined edge `score` over them (importance percentile and, for paired data, ATAC
    support): the unsupervised cell-type GRN. Both 0 when absent.
    """
    genes, tfs = benchmark_genes(rna), benchmark_tfs(rna)
    expression = dense(rna[:, genes].X)
    index = {g: i for i, g in enumerate(genes)}
    pairs = candidate_pairs(tfs, genes)
    r = atac_lib.pair_correlations(expression, expression, pairs["TF"].map(index).to_numpy(), pairs["Target"].map(index).to_numpy())
    pairs["pearson"] = np.abs(r)
    best = pd.concat(
        [t[["TF", "target", "importance", "score"]] for t in celltype_tables.values()], ignore_index=True
    ).groupby(["TF", "target"])[["importance", "score"]].max()
    best = best.reindex(pd.MultiIndex.from_frame(pairs[["TF", "Target"]])).fillna(0.0)
    pairs["grnboost2"] = best["importance"].to_numpy()
    pairs["celltype_grn"] = best["score"].to_numpy()
    return pairs[BASELINE_COLUMNS]
