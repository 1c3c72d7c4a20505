"""The BEELINE benchmark of a dataset: gene selection and the ground truth restricted to it.

Every source ends here (docs/ARCHITECTURE.md): `build_benchmark` marks `var` is_tf/selected
and fills `uns` network/benchmark of an RNA object holding log expression; GENELink folders,
which already are a benchmark gene set, only go through `attach_network`.

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

import os
from collections.abc import Collection

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from grnlink import dataset
from grnlink.errors import InputError

VARIANCE_TEST_COMPONENTS = 10
BONFERRONI_ALPHA = 0.01


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


def select_genes(rna: ad.AnnData, tfs: Collection[str], *, n_top_genes: int) -> pd.DataFrame:
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
    rna: ad.AnnData, network: pd.DataFrame, tfs: Collection[str], *, n_top_genes: int,
    source: str | os.PathLike[str],
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
    selection = select_genes(rna, tfs, n_top_genes=n_top_genes)
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
