"""Graphs of the graph models: the training graph built from labelled pairs, the inferred
GRN's strongest edges, the co-expression links an edge swap draws from, and the
inferred-GRN prior edges a perturbation adds.

Graphs are `torch.long` edge indices of shape (2, E), undirected (both directions stored),
without self loops; genes are indices in the benchmark gene order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from grnlink.train.data import CELLTYPE_GRN_COLUMNS, pearson_matrix


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


def coexpression_pool(features: np.ndarray, existing: torch.Tensor, n_pairs: int) -> torch.Tensor:
    """The `n_pairs` gene pairs of highest |Pearson r| that are not edges of `existing`, one
    direction each (2 x n_pairs, smaller index first): the links an `EdgeSwap` draws from."""
    n_genes = features.shape[0]
    if n_pairs <= 0 or n_genes < 2:
        return torch.empty((2, 0), dtype=torch.long)
    corr = np.abs(pearson_matrix(features))
    src, dst = np.triu_indices(n_genes, k=1)
    src, dst = _top_new_pairs(src, dst, corr[src, dst], existing, n_genes, n_pairs)
    return torch.as_tensor(np.stack([np.minimum(src, dst), np.maximum(src, dst)]), dtype=torch.long)


def inferred_grn_edges(strength: np.ndarray, n_edges: int) -> torch.Tensor:
    """The inferred GRN as a graph: the `n_edges` pairs of largest positive `strength`
    (genes x genes, TF rows; ties broken by pair order), undirected."""
    tf, target = np.nonzero(strength > 0)
    if n_edges <= 0 or len(tf) == 0:
        return torch.empty((2, 0), dtype=torch.long)
    order = np.argsort(-strength[tf, target], kind="stable")
    src, dst = _top_new_pairs(tf[order], target[order], strength[tf, target][order],
                              torch.empty((2, 0), dtype=torch.long), strength.shape[0], n_edges)
    return undirected_graph(src, dst, strength.shape[0])


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
