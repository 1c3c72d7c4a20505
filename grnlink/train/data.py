"""Inputs of link prediction: node features, labelled pairs, training graphs and their noise.

Genes are addressed by their index in the benchmark gene order (docs/ARCHITECTURE.md).
Graphs are `torch.long` edge indices of shape (2, E), undirected (both directions stored),
without self loops.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from grnlink import split as split_file
from grnlink.errors import InputError
from grnlink.io import read_table

log = logging.getLogger(__name__)

SPLIT_PARTS = ("train", "validation", "test")
BASELINE_COLUMNS = ["TF", "Target", "pearson", "grnboost2"]
CELLTYPE_GRN_COLUMNS = ["TF", "target", "importance"]


@dataclass(frozen=True)
class GeneData:
    """Per-gene inputs in benchmark order: expression features and the optional embedding."""

    genes: list[str]
    tfs: list[str]
    features: np.ndarray
    embedding: np.ndarray | None = None


def zscore_rows(matrix: np.ndarray) -> np.ndarray:
    """Centre and scale each row to unit variance; constant rows become zeros."""
    matrix = np.asarray(matrix, dtype=np.float64)
    centred = matrix - matrix.mean(axis=1, keepdims=True)
    std = centred.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0).astype(np.float32)


def expression_features(rna: ad.AnnData, genes: list[str]) -> np.ndarray:
    """Genes x cells log expression of `genes`, z-scored per gene over cells."""
    matrix = rna[:, genes].X
    matrix = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return zscore_rows(matrix.T)


def read_embedding(path: str | os.PathLike[str], genes: list[str]) -> np.ndarray:
    """The all-cell pooled embedding (`X`) of `genes`, each dimension z-scored over genes."""
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    emb = ad.read_h5ad(path)
    missing = [g for g in genes if g not in emb.obs_names]
    if missing:
        raise InputError(path, f"{len(missing)} benchmark gene(s) lack an embedding, e.g. {missing[:5]}")
    matrix = emb[genes].X
    matrix = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return zscore_rows(matrix.T).T.copy()


def read_split(path: str | os.PathLike[str], genes: list[str]) -> pd.DataFrame:
    """A split file with gene indices added as `tf` and `target` columns."""
    return index_split(split_file.read_split(path), genes, path)


def index_split(split: pd.DataFrame, genes: list[str], source: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Check a split table against the benchmark genes and add the `tf`/`target` indices;
    errors name `source` and the file line of the bad row."""
    index = pd.Series(np.arange(len(genes)), index=genes)
    split = split.reset_index(drop=True)
    checks = [
        (~split["TF"].isin(index.index), lambda r: f"TF {split['TF'].iat[r]!r} is not a benchmark gene"),
        (~split["Target"].isin(index.index), lambda r: f"Target {split['Target'].iat[r]!r} is not a benchmark gene"),
        (~split["part"].isin(SPLIT_PARTS), lambda r: f"invalid part {split['part'].iat[r]!r}"),
        (~split["label"].isin([0, 1]), lambda r: f"invalid label {split['label'].iat[r]!r}"),
    ]
    for bad, message in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(source, message(row), line=row + 2)
    split = split.assign(
        tf=index.loc[split["TF"]].to_numpy(),
        target=index.loc[split["Target"]].to_numpy(),
        label=split["label"].astype(int),
    )
    if split.loc[split["part"] == "train", "label"].nunique() < 2:
        raise InputError(source, "the train part needs both positive and negative pairs")
    for part in ("validation", "test"):
        if split.loc[split["part"] == part, "label"].nunique() < 2:
            log.warning("%s: the %s part lacks a class; its AUROC is undefined (NaN)%s", source, part,
                        ", so training runs all epochs and keeps the last" if part == "validation" else "")
    return split


def flip_labels(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Copy of `labels` with round(fraction * n) randomly chosen labels flipped (0 <-> 1)."""
    labels = np.asarray(labels).copy()
    n_flip = int(round(fraction * len(labels)))
    chosen = rng.choice(len(labels), size=n_flip, replace=False)
    labels[chosen] = 1 - labels[chosen]
    return labels


def undirected_graph(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> torch.Tensor:
    """Edge index with both directions of every pair, self loops and duplicates removed."""
    edge_index = torch.as_tensor(np.stack([np.asarray(src), np.asarray(dst)]), dtype=torch.long).reshape(2, -1)
    edge_index, _ = remove_self_loops(edge_index)
    return coalesce(to_undirected(edge_index, num_nodes=n_nodes), num_nodes=n_nodes)


def positive_graph(pairs: pd.DataFrame, labels: np.ndarray, n_nodes: int) -> torch.Tensor:
    """The training graph: the pairs labelled positive, undirected, no self loops."""
    positive = np.asarray(labels) == 1
    return undirected_graph(pairs["tf"].to_numpy()[positive], pairs["target"].to_numpy()[positive], n_nodes)


def n_undirected_edges(edge_index: torch.Tensor) -> int:
    return int(edge_index.shape[1]) // 2


def _top_new_pairs(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, existing: torch.Tensor,
                   n_nodes: int, n_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """The `n_edges` heaviest pairs not already in `existing` (ties broken by pair order)."""
    key = np.minimum(src, dst).astype(np.int64) * n_nodes + np.maximum(src, dst)
    old = existing.numpy()
    old_key = np.unique(np.minimum(old[0], old[1]).astype(np.int64) * n_nodes + np.maximum(old[0], old[1]))
    keep = (src != dst) & ~np.isin(key, old_key)
    src, dst, weight, key = src[keep], dst[keep], weight[keep], key[keep]
    _, first = np.unique(key, return_index=True)
    src, dst, weight, key = src[first], dst[first], weight[first], key[first]
    order = np.lexsort((key, -weight))[:n_edges]
    return src[order], dst[order]


def pearson_matrix(features: np.ndarray) -> np.ndarray:
    """Genes x genes Pearson r of the rows of `features` (float32; constant rows give 0)."""
    z = zscore_rows(features).astype(np.float64)
    return (z @ z.T / max(z.shape[1], 1)).astype(np.float32)


def coexpression_edges(features: np.ndarray, existing: torch.Tensor, n_edges: int) -> torch.Tensor:
    """The `n_edges` gene pairs of highest |Pearson r| that are not yet edges (GRNFormer)."""
    n_genes = features.shape[0]
    if n_edges <= 0 or n_genes < 2:
        return torch.empty((2, 0), dtype=torch.long)
    corr = np.abs(pearson_matrix(features))
    src, dst = np.triu_indices(n_genes, k=1)
    src, dst = _top_new_pairs(src, dst, corr[src, dst], existing, n_genes, n_edges)
    return undirected_graph(src, dst, n_genes)


def read_celltype_grn(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A cell-type GRN edge table of the `grn` stage."""
    return read_table(path, required=CELLTYPE_GRN_COLUMNS, sep="\t")


def prior_edges(tables: list[pd.DataFrame], genes: list[str], existing: torch.Tensor, n_edges: int) -> torch.Tensor:
    """The `n_edges` most important inferred cell-type GRN edges between benchmark genes,
    pooled over cell types (an edge's weight is its largest importance), not yet edges."""
    index = pd.Series(np.arange(len(genes)), index=genes)
    edges = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=CELLTYPE_GRN_COLUMNS)
    edges = edges[edges["TF"].isin(index.index) & edges["target"].isin(index.index)]
    if n_edges <= 0 or edges.empty:
        return torch.empty((2, 0), dtype=torch.long)
    src = index.loc[edges["TF"]].to_numpy()
    dst = index.loc[edges["target"]].to_numpy()
    weight = edges["importance"].to_numpy(float)
    order = np.argsort(-weight, kind="stable")  # so that duplicates keep their largest importance
    src, dst = _top_new_pairs(src[order], dst[order], weight[order], existing, len(genes), n_edges)
    return undirected_graph(src, dst, len(genes))


def merge_graphs(*graphs: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """Union of undirected edge indices."""
    return coalesce(torch.cat(graphs, dim=1), num_nodes=n_nodes)


def read_baseline_scores(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Unsupervised pair scores of the `grn` stage (TF, Target, pearson, grnboost2)."""
    return read_table(path, required=BASELINE_COLUMNS, sep="\t")
