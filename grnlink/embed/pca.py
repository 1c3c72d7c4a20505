"""The PCA control: a trivial gene embedding of the foundation model's width.

Does the foundation-model embedding carry more than the expression it was computed from?
The control answers it with the same cells and genes: the preprocessed object's `X` (log
expression of every gene it holds, the whole transcriptome where the source has it), each
gene centred and scaled over cells (clipped at +-10, as scanpy's `pp.scale`), factored by a
truncated randomized SVD `Z ~ U S V^T` of the embedding's width k. A gene's embedding is its
loading on the k components, `V S / sqrt(n_cells - 1)`: the correlation of the gene with each
component's cell scores. Signs follow scikit-learn's `svd_flip` rule, so the result is fixed
by the seed.

The file has the embed stage's layout (`obs_names` = benchmark genes, `X` over all cells),
without per-cell-type layers, which training does not read.
"""

from __future__ import annotations

import logging
import os

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlink.dataset import benchmark_genes
from grnlink.dataset import load as load_preprocessed
from grnlink.errors import InputError
from grnlink.io import write_anndata
from grnlink.reproducibility import package_versions
from grnlink.settings import PcaControlSettings

log = logging.getLogger(__name__)
SCALE_CLIP = 10.0


def scaled_expression(rna: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    """Cells x varying genes of `X`, z-scored per gene and clipped; and which genes vary."""
    x = rna.X.toarray() if sp.issparse(rna.X) else np.asarray(rna.X)
    x = x.astype(np.float64)
    std = x.std(axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1])
    varies = std > 0
    z = (x[:, varies] - x[:, varies].mean(axis=0)) / std[varies]
    return np.clip(z, -SCALE_CLIP, SCALE_CLIP), varies


def pca_gene_embeddings(rna: ad.AnnData, *, width: int, seed: int) -> ad.AnnData:
    """Gene loadings of a `width`-component truncated SVD of the cells' scaled expression,
    for the benchmark genes in order.

    Columns beyond the data's rank (`min(cells, varying genes) - 1`) and genes that do not
    vary are zeros; `obs["known"]` marks the genes with loadings, `uns["embed"]` records the
    width, the components computed and the variance they explain.
    """
    from sklearn.utils.extmath import randomized_svd, svd_flip

    z, varies = scaled_expression(rna)
    n_components = min(width, min(z.shape) - 1)
    if n_components < 1:
        raise ValueError(f"{z.shape[0]} cells x {z.shape[1]} varying genes leave no principal component")
    if n_components < width:
        log.warning("the PCA control has %d components of the %d asked for (cells x varying genes %s); "
                    "the remaining columns are zeros", n_components, width, z.shape)
    u, s, vt = randomized_svd(z, n_components, n_iter=7, random_state=seed)
    u, vt = svd_flip(u, vt)
    loadings = np.zeros((rna.n_vars, width), dtype=np.float32)
    loadings[np.flatnonzero(varies), :n_components] = (vt.T * s / np.sqrt(z.shape[0] - 1)).astype(np.float32)
    genes = benchmark_genes(rna)
    positions = rna.var_names.get_indexer(genes)
    explained = float((s**2).sum() / (z**2).sum()) if (z**2).sum() > 0 else 0.0
    log.info("PCA control: %d cells x %d varying genes, %d components explain %.1f%% of the scaled variance",
             z.shape[0], int(varies.sum()), n_components, 100 * explained)
    return ad.AnnData(
        X=loadings[positions],
        obs=pd.DataFrame({"known": varies[positions]}, index=pd.Index(genes)),
        uns={"embed": {"model_name": "PCA control", "width": width, "n_components": n_components,
                       "variance_explained": explained, "n_cells": int(z.shape[0]),
                       "n_genes": int(varies.sum())},
             "grnlink": {"seed": seed, "versions": package_versions()}},
    )


def embedding_width(path: str | os.PathLike[str]) -> int:
    """The width of the foundation model's embeddings file (the control matches it)."""
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    return int(ad.read_h5ad(path).n_vars)


def pca_control(
    settings: PcaControlSettings,
    *,
    preprocessed: str | os.PathLike[str],
    fm_embeddings: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """The `embed_pca` rule: the control of the width of `fm_embeddings`, written to `output`."""
    rna, _ = load_preprocessed(preprocessed)
    write_anndata(pca_gene_embeddings(rna, width=embedding_width(fm_embeddings), seed=settings.seed), output)
