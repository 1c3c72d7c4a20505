"""From raw single-cell inputs to the preprocessed object (docs/ARCHITECTURE.md).

RNA: QC filters, library-size normalisation and log1p (scanpy), cell-type labels kept.
ATAC: peak filtering, TF-IDF and LSI (muon). Then the BEELINE gene selection:

Variance test. BEELINE keeps genes whose expression varies significantly along Slingshot
pseudotime (a GAM p-value). Without a pseudotime we test, per gene, whether its scaled
expression is explained by the dataset's main axes of variation: an F-test of the linear
regression of the gene on the top `VARIANCE_TEST_COMPONENTS` principal components of the
scaled expression of the OTHER half of the genes (two folds, so a gene never shapes the
axes it is tested on; R^2 = the share of the gene's variance on those components,
F = (R^2 / k) / ((1 - R^2) / (n - k - 1)) with k components, n cells). Genes whose variation
is only noise have R^2 near k / n and fail; genes that co-vary with the rest pass. A gene is significant
when p < 0.01 / n_genes (Bonferroni). All significant TFs are kept, plus the
`n_top_genes` significant non-TF genes of highest variance; the ground truth is restricted
to that set (self loops and duplicates removed).

Density follows BEELINE's table: edges / (TFs with targets x genes in the network - TFs
with targets), where "genes in the network" are the genes that appear in a restricted edge;
this reproduces the published numbers of the GENELink folders.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp
from scipy import stats

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.readers import (
    check_known, parse_peaks, read_10x, read_cell_types, read_gene_annotation, read_network, read_tf_list,
)
from grnlink.reproducibility import package_versions
from grnlink.simulate import cell_type_names

log = logging.getLogger(__name__)

VARIANCE_TEST_COMPONENTS = 10
BONFERRONI_ALPHA = 0.01


def preprocess_dataset(name: str, cfg: dict, inputs: dict[str, str], output: str | os.PathLike[str]) -> dict:
    """Build and write the preprocessed object of dataset `name`; return its benchmark summary.

    `inputs` are the files the workflow gave the job (see `preprocess_inputs` in common.smk).
    """
    source = cfg["source"]
    atac = None
    if source == "simulate":
        rna, atac = preprocess_simulated(inputs["raw"], cfg)
    elif source == "genelink":
        from grnlink.genelink import read_genelink

        rna = read_genelink(Path(inputs["expression"]).parent, name)
    elif source == "geo":
        from grnlink.geo import load_raw

        expression, network, tfs = load_raw(name, cfg, inputs)
        rna = build_benchmark(expression, network, tfs, cfg["n_top_genes"], f"{name} ({cfg.get('network', 'network')})")
    elif source in ("h5ad", "h5mu"):
        rna, atac = preprocess_user_file(inputs, cfg)
    else:
        raise ValueError(f"unknown dataset source {source!r}")
    rna.uns["grnlink"] = {"versions": package_versions(), "source": source}
    if "seed" in cfg:
        rna.uns["grnlink"]["seed"] = cfg["seed"]
    dataset.save(rna, atac, output)
    summary = dict(rna.uns["benchmark"])
    log.info("%s: %s", name, summary)
    return summary


def preprocess_simulated(raw_dir: str | os.PathLike[str], cfg: dict) -> tuple[ad.AnnData, ad.AnnData]:
    """Read the simulator's raw folder (real-data formats) and preprocess both modalities."""
    raw_dir = Path(raw_dir)
    rna = read_10x(raw_dir / "rna")
    atac = read_10x(raw_dir / "atac")
    if list(rna.obs_names) != list(atac.obs_names):
        raise InputError(raw_dir / "atac" / "barcodes.tsv.gz", "barcodes differ from the RNA barcodes")
    expected = cell_type_names(cfg["n_cell_types"])
    annotate_cell_types(rna, read_cell_types(raw_dir / "cell_types.tsv"), raw_dir / "cell_types.tsv", expected)
    annotate_genes(rna, read_gene_annotation(raw_dir / "genes.tsv"), raw_dir / "genes.tsv")
    motif_hits = read_motif_hits(raw_dir / "motif_hits.tsv", rna.var_names, atac.var_names)
    network = read_network(raw_dir / "ground_truth.csv")
    check_known(pd.concat([network["Gene1"], network["Gene2"]]), rna.var_names, raw_dir / "ground_truth.csv", "gene ids")
    rna, atac = quality_filter(rna, atac, cfg, raw_dir / "cell_types.tsv")
    normalise_rna(rna, cfg["target_sum"])
    preprocess_atac(atac, cfg["n_lsi_components"], raw_dir / "atac" / "matrix.mtx.gz")
    atac.uns["motif_hits"] = motif_hits[motif_hits["peak"].isin(atac.var_names)].reset_index(drop=True)
    tfs = sorted(set(motif_hits["TF"]))
    rna = build_benchmark(rna, network, tfs, cfg["n_top_genes"], raw_dir / "ground_truth.csv")
    return rna, atac


def preprocess_user_file(inputs: dict[str, str], cfg: dict) -> tuple[ad.AnnData, ad.AnnData | None]:
    """A user's `.h5ad` (RNA) or `.h5mu` (`rna` + `atac`) with a network and a TF list."""
    path = Path(inputs["data"])
    atac = None
    try:
        if cfg["source"] == "h5mu":
            import mudata

            with mudata.set_options(pull_on_update=False):
                mdata = mudata.read_h5mu(path)
            if not {"rna", "atac"} <= set(mdata.mod):
                raise InputError(path, f"expected modalities 'rna' and 'atac', found {sorted(mdata.mod)}")
            rna, atac = mdata.mod["rna"].copy(), mdata.mod["atac"].copy()
        else:
            rna = ad.read_h5ad(path)
    except (OSError, KeyError) as err:
        raise InputError(path, f"cannot be read: {err}") from err
    key = cfg["cell_type_key"]
    if key not in rna.obs:
        raise InputError(path, f"obs has no column {key!r} with cell-type labels")
    annotate_cell_types(rna, rna.obs[key].astype(str), path, cfg["cell_types"])
    rna.var_names_make_unique()
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
    if cfg["normalize"] and not _holds_counts(rna.X):
        raise InputError(path, "X holds non-integer or negative values, not counts; set normalize: false for log data")
    rna, atac = quality_filter(rna, atac, cfg, path)
    if cfg["normalize"]:
        normalise_rna(rna, cfg["target_sum"])
    else:
        rna.X = sp.csr_matrix(rna.X, dtype=np.float32)
    if atac is not None:
        preprocess_atac(atac, cfg["n_lsi_components"], path)
        atac.uns["motif_hits"] = motif_hits[motif_hits["peak"].isin(atac.var_names)].reset_index(drop=True)
    network = read_network(inputs["network"])
    tfs = read_tf_list(inputs["tfs"])
    return build_benchmark(rna, network, tfs, cfg["n_top_genes"], inputs["network"]), atac


def _holds_counts(x: np.ndarray | sp.spmatrix) -> bool:
    values = x.data if sp.issparse(x) else np.asarray(x)
    return bool(np.all(values >= 0) and np.all(np.mod(values, 1) == 0))


def annotate_cell_types(
    rna: ad.AnnData, labels: pd.Series, path: str | os.PathLike[str], expected: list[str] | None = None
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


def read_motif_hits(path: str | os.PathLike[str], genes: pd.Index, peaks: pd.Index) -> pd.DataFrame:
    """Motif hits `TF, peak`; TFs must be genes of the data and peaks peaks of the data."""
    from grnlink.io import read_table

    hits = read_table(path, required=["TF", "peak"], dtype=str, keep_default_na=False)[["TF", "peak"]]
    check_known(hits["TF"], genes, path, "TF gene ids")
    check_known(hits["peak"], peaks, path, "peaks")
    return hits.drop_duplicates().reset_index(drop=True)


def quality_filter(
    rna: ad.AnnData, atac: ad.AnnData | None, cfg: dict, path: str | os.PathLike[str]
) -> tuple[ad.AnnData, ad.AnnData | None]:
    """Drop cells with too few genes (or peaks) and genes/peaks seen in too few cells.

    `path` (the cell labels' file) is named when a cell type loses all its cells.
    """
    keep = np.asarray((rna.X > 0).sum(axis=1)).ravel() >= cfg["min_genes_per_cell"]
    if atac is not None:
        keep &= np.asarray((atac.X > 0).sum(axis=1)).ravel() >= cfg["min_peaks_per_cell"]
    empty = [c for c in rna.obs["cell_type"].cat.categories if not (keep & (rna.obs["cell_type"] == c)).any()]
    if empty:
        raise InputError(path, f"cell type(s) {empty} have no cells left after the QC filters; relax them")
    rna = rna[keep].copy()
    sc.pp.filter_genes(rna, min_cells=cfg["min_cells_per_gene"])
    if atac is not None:
        atac = atac[keep].copy()
        sc.pp.filter_genes(atac, min_cells=cfg["min_cells_per_peak"])
    log.info("QC: %d cells, %d genes%s", rna.n_obs, rna.n_vars, "" if atac is None else f", {atac.n_vars} peaks")
    return rna, atac


def normalise_rna(rna: ad.AnnData, target_sum: float) -> None:
    """Keep raw counts in `layers["counts"]`; X = log1p of counts scaled to `target_sum`."""
    rna.layers["counts"] = sp.csr_matrix(rna.X, dtype=np.float32)
    sc.pp.normalize_total(rna, target_sum=target_sum)
    sc.pp.log1p(rna)
    rna.X = sp.csr_matrix(rna.X, dtype=np.float32)
    rna.uns.pop("log1p", None)


def preprocess_atac(atac: ad.AnnData, n_components: int, path: str | os.PathLike[str]) -> None:
    """Counts kept in `layers["counts"]`; X = TF-IDF; `obsm["X_lsi"]` (muon)."""
    from muon import atac as mu_atac

    atac.var = atac.var[[c for c in atac.var.columns if c not in ("chrom", "start", "end")]].join(
        parse_peaks(atac.var_names, path)
    )
    atac.layers["counts"] = sp.csr_matrix(atac.X, dtype=np.float32)
    mu_atac.pp.tfidf(atac, scale_factor=1e4)
    n_components = max(2, min(n_components, atac.n_obs - 1, atac.n_vars - 1))
    mu_atac.tl.lsi(atac, n_comps=n_components)
    atac.X = sp.csr_matrix(atac.X, dtype=np.float32)


def variance_test_pvalues(expression: np.ndarray | sp.spmatrix, n_components: int = VARIANCE_TEST_COMPONENTS) -> np.ndarray:
    """Per-gene p-value that its expression follows the data's main axes (see module doc).

    The axes that test a gene are the principal components of the other half of the genes
    (two folds, fixed assignment), so a noise gene cannot create the axis it is tested on
    and its p-value is uniform under the null.
    """
    x = expression.toarray() if sp.issparse(expression) else np.asarray(expression)
    x = x.astype(np.float64)
    n_cells, n_genes = x.shape
    std = x.std(axis=0)
    varies = std > 0
    z = np.zeros_like(x)
    z[:, varies] = (x[:, varies] - x[:, varies].mean(axis=0)) / std[varies]
    fold = np.random.default_rng(0).permutation(n_genes) % 2
    pvalues = np.ones(n_genes)
    for tested in (0, 1):
        axes_from = z[:, (fold != tested) & varies]
        k = int(min(n_components, n_cells - 2, axes_from.shape[1]))
        if k < 1:
            continue
        u, _, _ = np.linalg.svd(axes_from, full_matrices=False)
        genes = np.flatnonzero((fold == tested) & varies)
        explained = np.clip(((u[:, :k].T @ z[:, genes]) ** 2).sum(axis=0) / n_cells, 0.0, 1.0 - 1e-12)
        f_stat = (explained / k) / ((1.0 - explained) / (n_cells - k - 1))
        pvalues[genes] = stats.f.sf(f_stat, k, n_cells - k - 1)
    return pvalues


def select_genes(rna: ad.AnnData, tfs: Collection[str], n_top_genes: int) -> pd.DataFrame:
    """BEELINE selection: columns `is_tf`, `variance_pvalue`, `variance`, `selected`."""
    pvalues = variance_test_pvalues(rna.X)
    x = rna.X
    mean = np.asarray(x.mean(axis=0)).ravel()
    sq = np.asarray(x.multiply(x).mean(axis=0)).ravel() if sp.issparse(x) else (np.asarray(x) ** 2).mean(axis=0)
    variance = sq - mean**2
    significant = pvalues < BONFERRONI_ALPHA / rna.n_vars
    is_tf = rna.var_names.isin(list(tfs))
    candidates = np.flatnonzero(significant & ~is_tf)
    top = candidates[np.argsort(-variance[candidates], kind="stable")[:n_top_genes]]
    selected = significant & is_tf
    selected[top] = True
    return pd.DataFrame(
        {"is_tf": is_tf, "variance_pvalue": pvalues, "variance": variance, "selected": selected},
        index=rna.var_names,
    )


def restrict_network(network: pd.DataFrame, genes: Collection[str], tfs: Collection[str]) -> pd.DataFrame:
    """Edges with a TF of `tfs` as Gene1 and both genes in `genes`; no self loops or duplicates."""
    genes, tfs = set(genes), set(tfs)
    keep = network["Gene1"].isin(genes & tfs) & network["Gene2"].isin(genes) & (network["Gene1"] != network["Gene2"])
    key = ["Gene1", "Gene2"] + (["cell_type"] if "cell_type" in network else [])
    return network.loc[keep, key].drop_duplicates().reset_index(drop=True)


def build_benchmark(
    rna: ad.AnnData, network: pd.DataFrame, tfs: Collection[str], n_top_genes: int, source: str | os.PathLike[str]
) -> ad.AnnData:
    """Mark `var` is_tf/selected (variance test + top genes), fill `uns` network/benchmark.

    `rna` holds log-normalised expression and `obs["cell_type"]`; `network` has `Gene1,
    Gene2[, cell_type]` (without `cell_type` an edge holds in every cell type); `source`
    names the network's file in errors.
    """
    if "cell_type" not in rna.obs:
        raise InputError(source, "the expression data has no obs['cell_type']")
    rna.obs["cell_type"] = rna.obs["cell_type"].astype("category")
    empty = [c for c in rna.obs["cell_type"].cat.categories if not (rna.obs["cell_type"] == c).any()]
    if empty:
        raise InputError(source, f"cell type(s) {empty} have no cells")
    _check_network_overlap(network, rna.var_names, tfs, source)
    selection = select_genes(rna, tfs, n_top_genes)
    for column in selection:
        rna.var[column] = selection[column].to_numpy()
    return attach_network(rna, network, source)


def attach_network(rna: ad.AnnData, network: pd.DataFrame, source: str | os.PathLike[str]) -> ad.AnnData:
    """Restrict `network` to the selected genes and TFs; set `uns` network and benchmark."""
    types = list(rna.obs["cell_type"].cat.categories)
    if "cell_type" not in network:
        network = pd.concat([network.assign(cell_type=t) for t in types], ignore_index=True)
    unknown = sorted(set(network["cell_type"]) - set(types))
    if unknown:
        raise InputError(source, f"network names cell type(s) {unknown} absent from the data {types}")
    genes = dataset.benchmark_genes(rna)
    restricted = restrict_network(network, genes, dataset.benchmark_tfs(rna))
    if restricted.empty:
        raise InputError(source, "no edge of the network is left among the selected genes and TFs")
    restricted["cell_type"] = restricted["cell_type"].astype(str)
    rna.uns["network"] = restricted
    rna.uns["benchmark"] = benchmark_summary(restricted, genes, dataset.benchmark_tfs(rna))
    return rna


def benchmark_summary(network: pd.DataFrame, genes: Collection[str], tfs: Collection[str]) -> dict:
    """Sizes and BEELINE density of a restricted network (union over cell types)."""
    edges = network[["Gene1", "Gene2"]].drop_duplicates()
    n_tf_targets = int(edges["Gene1"].nunique())
    n_network_genes = len(set(edges["Gene1"]) | set(edges["Gene2"]))
    denominator = n_tf_targets * n_network_genes - n_tf_targets
    return {
        "n_tfs": len(tfs),
        "n_tfs_with_targets": n_tf_targets,
        "n_genes": len(genes),
        "n_network_genes": n_network_genes,
        "n_edges": len(edges),
        "density": float(len(edges) / denominator) if denominator else 0.0,
    }


def _check_network_overlap(network: pd.DataFrame, genes: pd.Index, tfs: Collection[str], source) -> None:
    known = set(genes)
    if not (set(network["Gene1"]) | set(network["Gene2"])) & known:
        raise InputError(source, f"unknown gene ids: no gene of the network is in the data (e.g. {network['Gene1'].iat[0]!r})")
    if not set(network["Gene1"]) & known & set(tfs):
        raise InputError(source, "no TF of the network (Gene1) is both in the data and in the TF list")
