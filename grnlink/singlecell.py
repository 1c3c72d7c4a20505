"""Single-cell count data to the preprocessed modalities (docs/ARCHITECTURE.md).

RNA: QC filters, library-size normalisation and log1p (scanpy), cell-type labels kept.
ATAC: peak filtering, TF-IDF and LSI (muon). Then the benchmark (grnlink.benchmark).
The two sources of counts read here are the simulator's raw folder (`read_simulated`) and
a user's `.h5ad` / `.h5mu` (`read_user_file`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from grnlink.benchmark import build_benchmark
from grnlink.dataset import holds_counts
from grnlink.errors import InputError
from grnlink.io import read_table
from grnlink.readers import (
    PEAK_PATTERN, TENX_BARCODES, TENX_MATRIX, check_known, parse_peaks, read_10x, read_cell_types,
    read_gene_annotation, read_network, read_tf_list,
)
from grnlink.settings import Preprocessing, UserFileDataset
from grnlink.simulate import ATAC_DIR, CELL_TYPES_FILE, GENES_FILE, GROUND_TRUTH_FILE, MOTIF_HITS_FILE, RNA_DIR

log = logging.getLogger(__name__)


def read_simulated(
    raw_dir: str | os.PathLike[str], *, cell_types: Sequence[str], preprocessing: Preprocessing
) -> tuple[ad.AnnData, ad.AnnData]:
    """Read the simulator's raw folder (real-data formats) and preprocess both modalities.

    `cell_types` are the simulated cell types, each of which must keep cells.
    """
    raw_dir = Path(raw_dir)
    labels_path, network_path = raw_dir / CELL_TYPES_FILE, raw_dir / GROUND_TRUTH_FILE
    rna = read_10x(raw_dir / RNA_DIR)
    atac = read_10x(raw_dir / ATAC_DIR)
    if list(rna.obs_names) != list(atac.obs_names):
        raise InputError(raw_dir / ATAC_DIR / TENX_BARCODES, "barcodes differ from the RNA barcodes")
    annotate_cell_types(rna, read_cell_types(labels_path), labels_path, cell_types)
    annotate_genes(rna, read_gene_annotation(raw_dir / GENES_FILE), raw_dir / GENES_FILE)
    motif_hits = read_motif_hits(raw_dir / MOTIF_HITS_FILE, rna.var_names, atac.var_names)
    network = read_network(network_path)
    check_known(pd.concat([network["Gene1"], network["Gene2"]]), rna.var_names, network_path, "gene ids")
    rna, atac = preprocess_modalities(rna, atac, motif_hits, preprocessing, labels_path=labels_path,
                                      atac_path=raw_dir / ATAC_DIR / TENX_MATRIX)
    tfs = sorted(set(motif_hits["TF"]))
    rna = build_benchmark(rna, network, tfs, n_top_genes=preprocessing.n_top_genes, source=network_path)
    return rna, atac


def read_user_file(
    name: str, settings: UserFileDataset, inputs: Mapping[str, str], *, paired: bool
) -> tuple[ad.AnnData, ad.AnnData | None]:
    """Dataset `name`: a user's `.h5ad` (RNA) or, `paired`, `.h5mu` (`rna` + `atac`) with a
    network and a TF list.

    `inputs` by role: `data` (the file), `network`, `tfs`, and optionally `genes` (gene
    annotation) and, paired, `motif_hits`. Paired data need gene positions: the annotation
    if given, else the file's own (`place_genes`).
    """
    path = Path(inputs["data"])
    rna, atac = _read_modalities(path, paired=paired)
    key = settings.cell_type_key
    if key not in rna.obs:
        raise InputError(path, f"obs has no column {key!r} with cell-type labels")
    annotate_cell_types(rna, rna.obs[key].astype(str), path, settings.cell_types)
    rna.var_names_make_unique()
    motif_hits = None
    if atac is not None:
        common = rna.obs_names.intersection(atac.obs_names)
        if common.empty:
            raise InputError(path, "the rna and atac modalities share no cell")
        rna, atac = rna[common].copy(), atac[common].copy()
        motif_hits = (
            read_motif_hits(inputs["motif_hits"], rna.var_names, atac.var_names)
            if "motif_hits" in inputs else pd.DataFrame({"TF": [], "peak": []}, dtype=str)
        )
    if "genes" in inputs:
        annotate_genes(rna, read_gene_annotation(inputs["genes"]), inputs["genes"])
    elif paired:
        place_genes(rna, path, config_key=f"datasets.{name}.genes")
    preprocessing = settings.preprocessing()
    if preprocessing.normalize and not holds_counts(rna.X):
        raise InputError(path, "X holds non-integer or negative values, not counts; set normalize: false for log data")
    rna, atac = preprocess_modalities(rna, atac, motif_hits, preprocessing, labels_path=path, atac_path=path)
    network = read_network(inputs["network"])
    tfs = read_tf_list(inputs["tfs"])
    return build_benchmark(rna, network, tfs, n_top_genes=preprocessing.n_top_genes, source=inputs["network"]), atac


def _read_modalities(path: Path, *, paired: bool) -> tuple[ad.AnnData, ad.AnnData | None]:
    """RNA of an `.h5ad`, or the `rna` and `atac` modalities of an `.h5mu` (`paired`)."""
    try:
        if not paired:
            return ad.read_h5ad(path), None
        import mudata

        with mudata.set_options(pull_on_update=False):
            mdata = mudata.read_h5mu(path)
    except (OSError, KeyError) as err:
        raise InputError(path, f"cannot be read: {err}") from err
    if not {"rna", "atac"} <= set(mdata.mod):
        raise InputError(path, f"expected modalities 'rna' and 'atac', found {sorted(mdata.mod)}")
    return mdata.mod["rna"].copy(), mdata.mod["atac"].copy()


def preprocess_modalities(
    rna: ad.AnnData, atac: ad.AnnData | None, motif_hits: pd.DataFrame | None, preprocessing: Preprocessing, *,
    labels_path: str | os.PathLike[str], atac_path: str | os.PathLike[str],
) -> tuple[ad.AnnData, ad.AnnData | None]:
    """QC filters, then RNA normalisation (or only float32 X) and, with ATAC, TF-IDF + LSI
    and `atac.uns["motif_hits"]` (the hits in peaks that passed QC).

    `labels_path` is named when QC empties a cell type, `atac_path` when a peak name is bad.
    """
    rna, atac = quality_filter(
        rna, atac, min_genes_per_cell=preprocessing.min_genes_per_cell,
        min_cells_per_gene=preprocessing.min_cells_per_gene, min_peaks_per_cell=preprocessing.min_peaks_per_cell,
        min_cells_per_peak=preprocessing.min_cells_per_peak, path=labels_path,
    )
    if preprocessing.normalize:
        normalise_rna(rna, target_sum=preprocessing.target_sum)
    else:
        rna.X = sp.csr_matrix(rna.X, dtype=np.float32)
    if atac is not None:
        preprocess_atac(atac, n_components=preprocessing.n_lsi_components, path=atac_path)
        atac.uns["motif_hits"] = motif_hits[motif_hits["peak"].isin(atac.var_names)].reset_index(drop=True)
    return rna, atac


def annotate_cell_types(
    rna: ad.AnnData, labels: pd.Series, path: str | os.PathLike[str], expected: Sequence[str] | None = None
) -> None:
    """Set `obs["cell_type"]` (categorical); every barcode labelled, no expected type empty."""
    missing = rna.obs_names.difference(labels.index)
    if len(missing):
        raise InputError(path, f"{len(missing)} cell(s) have no cell-type label, e.g. {missing[0]!r}")
    labels = labels.loc[rna.obs_names].astype(str)
    categories = list(expected) if expected else sorted(labels.unique())
    unexpected = sorted(set(labels) - set(categories))
    if unexpected:
        raise InputError(path, f"cell type(s) {unexpected} are not among the configured cell_types {categories}")
    empty = [c for c in categories if not (labels == c).any()]
    if empty:
        raise InputError(path, f"cell type(s) {empty} have no cells")
    rna.obs["cell_type"] = pd.Categorical(labels.to_numpy(), categories=categories)


def annotate_genes(rna: ad.AnnData, annotation: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """`var["chrom"]`, `var["tss"]` from a gene annotation; every gene must be annotated."""
    check_known(list(rna.var_names), annotation.index, path, "gene ids (not in the annotation)")
    rna.var["chrom"] = annotation.loc[rna.var_names, "chrom"].astype(str).to_numpy()
    rna.var["tss"] = annotation.loc[rna.var_names, "tss"].astype(np.int64).to_numpy()


def place_genes(rna: ad.AnnData, path: str | os.PathLike[str], *, config_key: str) -> None:
    """Gene positions from the data itself: `var["chrom"]` and `var["tss"]` as they are, else
    the 10x `var["interval"]`; without either fail naming `config_key`, where an annotation
    would be given (`path` is the data file)."""
    if {"chrom", "tss"} <= set(rna.var.columns):
        return
    if "interval" not in rna.var:
        raise InputError(path, "rna.var has no gene positions to link peaks to genes (neither the 10x 'interval' "
                               f"nor 'chrom' and 'tss'): give a gene annotation (gene_name, chrom, tss) as {config_key}")
    annotate_genes_from_intervals(rna)


def annotate_genes_from_intervals(rna: ad.AnnData) -> None:
    """`var["chrom"]`, `var["tss"]` from 10x `var["interval"]` ("chr1:100-200", as muon's
    `read_10x_h5` keeps it; `var["gene_ids"]` is the Ensembl id, not a position).

    An interval has no strand, so the TSS is taken as its start. A gene without one ("NA")
    gets chrom "" and tss -1, which no peak is linked to, and a warning.
    """
    parts = rna.var["interval"].astype(str).str.extract(PEAK_PATTERN)
    unplaced = parts["chrom"].isna().to_numpy()
    if unplaced.any():
        example = np.flatnonzero(unplaced)[0]
        log.warning("%d of %d genes have no chrom:start-end interval in rna.var (e.g. %s: %r); no peak is linked to "
                    "them", unplaced.sum(), rna.n_vars, rna.var_names[example], rna.var["interval"].iat[example])
    rna.var["chrom"] = parts["chrom"].fillna("").to_numpy()
    rna.var["tss"] = parts["start"].fillna("-1").astype(np.int64).to_numpy()


def read_motif_hits(path: str | os.PathLike[str], genes: pd.Index, peaks: pd.Index) -> pd.DataFrame:
    """Motif hits `TF, peak`; TFs must be genes of the data and peaks peaks of the data."""
    hits = read_table(path, required=["TF", "peak"], dtype=str, keep_default_na=False)[["TF", "peak"]]
    check_known(hits["TF"], genes, path, "TF gene ids")
    check_known(hits["peak"], peaks, path, "peaks")
    return hits.drop_duplicates().reset_index(drop=True)


def quality_filter(
    rna: ad.AnnData, atac: ad.AnnData | None, *, min_genes_per_cell: int, min_cells_per_gene: int,
    min_peaks_per_cell: int, min_cells_per_peak: int, path: str | os.PathLike[str],
) -> tuple[ad.AnnData, ad.AnnData | None]:
    """Drop cells with too few genes (or peaks) and genes/peaks seen in too few cells.

    `path` (the cell labels' file) is named when a cell type loses all its cells.
    """
    keep = np.asarray((rna.X > 0).sum(axis=1)).ravel() >= min_genes_per_cell
    if atac is not None:
        keep &= np.asarray((atac.X > 0).sum(axis=1)).ravel() >= min_peaks_per_cell
    empty = [c for c in rna.obs["cell_type"].cat.categories if not (keep & (rna.obs["cell_type"] == c)).any()]
    if empty:
        raise InputError(path, f"cell type(s) {empty} have no cells left after the QC filters; relax them")
    rna = rna[keep].copy()
    sc.pp.filter_genes(rna, min_cells=min_cells_per_gene)
    if atac is not None:
        atac = atac[keep].copy()
        sc.pp.filter_genes(atac, min_cells=min_cells_per_peak)
    log.info("QC: %d cells, %d genes%s", rna.n_obs, rna.n_vars, "" if atac is None else f", {atac.n_vars} peaks")
    return rna, atac


def normalise_rna(rna: ad.AnnData, *, target_sum: float) -> None:
    """Keep raw counts in `layers["counts"]`; X = log1p of counts scaled to `target_sum`."""
    rna.layers["counts"] = sp.csr_matrix(rna.X, dtype=np.float32)
    sc.pp.normalize_total(rna, target_sum=target_sum)
    sc.pp.log1p(rna)
    rna.X = sp.csr_matrix(rna.X, dtype=np.float32)
    rna.uns.pop("log1p", None)


def preprocess_atac(atac: ad.AnnData, *, n_components: int, path: str | os.PathLike[str]) -> None:
    """Counts kept in `layers["counts"]`; X = TF-IDF (muon); `obsm["X_lsi"]`, `varm["LSI"]`,
    `uns["lsi"]` (`lsi`)."""
    from muon import atac as mu_atac

    atac.var = atac.var[[c for c in atac.var.columns if c not in ("chrom", "start", "end")]].join(
        parse_peaks(atac.var_names, path)
    )
    atac.layers["counts"] = sp.csr_matrix(atac.X, dtype=np.float32)
    mu_atac.pp.tfidf(atac, scale_factor=1e4)
    lsi(atac, n_components=max(2, min(n_components, atac.n_obs - 1, atac.n_vars - 1)))
    atac.X = sp.csr_matrix(atac.X, dtype=np.float32)


LSI_START_SEED = 0


def lsi(atac: ad.AnnData, *, n_components: int) -> None:
    """Latent semantic indexing of the TF-IDF matrix `X`, as muon's `atac.tl.lsi` computes it
    (truncated SVD, components by decreasing singular value, cell embeddings scaled to zero
    mean and unit variance) but reproducible: muon's SVD starts from an unseeded random
    vector, so its components differ from run to run. Here the start vector is drawn with
    `LSI_START_SEED` and each component's sign is fixed (largest-magnitude peak loading
    positive). Writes `obsm["X_lsi"]`, `varm["LSI"]` (peak loadings), `uns["lsi"]["stdev"]`.
    """
    from scipy.sparse.linalg import svds

    x = sp.csr_matrix(atac.X, dtype=np.float64)
    start = np.random.default_rng(LSI_START_SEED).uniform(-1, 1, min(x.shape))
    cells, values, loadings = svds(x, k=n_components, v0=start)
    order = np.argsort(-values)
    cells, values, loadings = cells[:, order], values[order], loadings[order]
    signs = np.sign(loadings[np.arange(len(values)), np.abs(loadings).argmax(axis=1)])
    cells, loadings = cells * signs, loadings * signs[:, None]
    atac.obsm["X_lsi"] = (cells - cells.mean(axis=0)) / cells.std(axis=0)
    atac.varm["LSI"] = loadings.T
    atac.uns["lsi"] = {"stdev": values / np.sqrt(x.shape[0] - 1)}
