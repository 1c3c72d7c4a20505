"""The one place that maps a training variant to a network: the graph encoder, fusion and
pair scorer its `Variant` names, sized by its `VariantRun`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, SAGEConv

from grnlink.settings import ENCODERS, FUSIONS, NetworkSizes, Variant, VariantRun
from grnlink.train.models import (
    ConcatFusion,
    CrossAttentionFusion,
    EvidencePairScorer,
    Fusion,
    GENELink,
    GNNEncoder,
    GraphEncoder,
    LinkPredictor,
    NoGraphEncoder,
    PairClassifier,
    PairScorer,
    RelationalGNNEncoder,
    edge_index_form,
    gcn_adjacency,
)


def build_model(run: VariantRun, *, n_features: int, embedding_dim: int, coexpression: torch.Tensor | None = None,
                grn_edges: torch.Tensor | None = None, evidence: torch.Tensor | None = None,
                overrides: Mapping[str, Any] | None = None) -> LinkPredictor:
    """The untrained network of `run.variant` for genes with `n_features` features and, when
    the variant reads it, a foundation-model embedding `embedding_dim` wide.

    Needed by the variants that read them, ignored by the others: `coexpression` (genes x
    genes Pearson r; `pair_coexpression`), `grn_edges` (the inferred GRN, an undirected edge
    index; `Variant.uses_grn_graph`) and `evidence` (genes x genes x columns; grnlink).
    `overrides` replace sizes of `run.model` (an Optuna trial's). GENELink is built as
    published. The parts are built encoder, fusion, scorer, in that order: that order fixes
    the draws from torch's generator, hence the initial weights of a seed.
    """
    variant = run.variant
    if variant.model == "genelink":
        return GENELink(n_features)
    if variant.model not in ("scregnet", "grnlink"):
        raise ValueError(f"variant {variant.name}: {variant.model!r} is not a graph model")
    sizes = replace(run.model, **(overrides or {}))
    grn = _required(variant.uses_grn_graph, grn_edges, variant, "the inferred GRN's edges")
    encoder = _encoder(variant.encoder, n_features, sizes, grn if variant.model == "grnlink" else None)
    fusion = _fusion(variant.fusion, _embedding_width(variant, embedding_dim), encoder.out_dim, sizes, grn)
    return LinkPredictor(encoder, fusion, _scorer(run, fusion.out_dim, sizes, coexpression, evidence))


def _required(needed: bool, value: torch.Tensor | None, variant: Variant, what: str) -> torch.Tensor | None:
    if needed and value is None:
        raise ValueError(f"variant {variant.name} reads {what}: give them")
    return value if needed else None


def _scorer(run: VariantRun, n_in: int, sizes: NetworkSizes, coexpression: torch.Tensor | None,
            evidence: torch.Tensor | None) -> PairScorer:
    variant = run.variant
    if variant.model == "grnlink":
        return EvidencePairScorer(n_in, _required(True, evidence, variant, "the pair evidence"),
                                  hidden=sizes.mlp_hidden, mlp_layers=sizes.mlp_layers, dropout=sizes.dropout)
    return PairClassifier(n_in, hidden=sizes.mlp_hidden, mlp_layers=sizes.mlp_layers,
                          classifier_layers=variant.classifier_layers, dropout=sizes.dropout,
                          coexpression=_required(variant.pair_coexpression, coexpression, variant,
                                                 "the co-expression matrix"))


def _conv(encoder: str, n_in: int, n_out: int, heads: int) -> nn.Module:
    if encoder == "gcn":  # reads the normalised adjacency of `gcn_adjacency`
        return GCNConv(n_in, n_out, normalize=False)
    if encoder == "sage":
        return SAGEConv(n_in, n_out)
    if encoder == "gat":
        if n_out % heads:
            raise ValueError(f"GAT width {n_out} is not a multiple of its {heads} heads")
        return GATConv(n_in, n_out // heads, heads=heads)
    raise ValueError(f"unknown encoder {encoder!r}; choose one of {ENCODERS}")


def _encoder(name: str, n_features: int, sizes: NetworkSizes, grn_edges: torch.Tensor | None) -> GraphEncoder:
    """The GNN `name`; over the training graph and, given `grn_edges`, the inferred GRN too."""
    if name == "none":
        return NoGraphEncoder()
    conv = partial(_conv, name, heads=sizes.heads)
    graph_form = gcn_adjacency if name == "gcn" else edge_index_form
    if grn_edges is not None:
        return RelationalGNNEncoder(n_features, sizes.hidden, sizes.gnn_layers, sizes.dropout, conv, grn_edges,
                                    graph_form=graph_form)
    return GNNEncoder(n_features, sizes.hidden, sizes.gnn_layers, sizes.dropout, conv=conv, graph_form=graph_form)


def _fusion(name: str, embedding_dim: int, graph_dim: int, sizes: NetworkSizes,
            neighbourhood: torch.Tensor | None) -> Fusion:
    if name == "concat":
        return ConcatFusion(embedding_dim, graph_dim)
    if name == "cross_attention":
        return CrossAttentionFusion(embedding_dim, graph_dim, neighbourhood, sizes.attention_width,
                                    sizes.attention_heads, sizes.attention_dropout)
    raise ValueError(f"unknown fusion {name!r}; choose one of {FUSIONS}")


def _embedding_width(variant: Variant, embedding_dim: int) -> int:
    if not variant.uses_embedding:
        return 0
    if embedding_dim <= 0:
        raise ValueError(f"variant {variant.name} reads the foundation-model embedding: give its width")
    return embedding_dim

