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

from grnlink.settings import ENCODERS, FUSIONS, ScRegNetSettings, Variant, VariantRun
from grnlink.train.models import (
    ConcatFusion,
    CrossAttentionFusion,
    Fusion,
    GENELink,
    GNNEncoder,
    GraphEncoder,
    LinkPredictor,
    NoGraphEncoder,
    PairClassifier,
)


def build_model(run: VariantRun, *, n_features: int, embedding_dim: int, coexpression: torch.Tensor | None = None,
                overrides: Mapping[str, Any] | None = None) -> LinkPredictor:
    """The untrained network of `run.variant` for genes with `n_features` features and, when
    the variant reads it, a foundation-model embedding `embedding_dim` wide.

    `coexpression` (genes x genes Pearson r) is needed by variants with `pair_coexpression`
    and ignored by the others; `overrides` replace scRegNet sizes of `run.model` (an Optuna
    trial's). GENELink is built as published. The parts are built encoder, fusion, scorer,
    in that order: that order fixes the draws from torch's generator, hence the initial
    weights of a seed.
    """
    variant = run.variant
    if variant.model == "genelink":
        return GENELink(n_features)
    if variant.model != "scregnet":
        raise ValueError(f"variant {variant.name}: {variant.model!r} is not a graph model")
    sizes = replace(run.model, **(overrides or {}))
    encoder = _encoder(variant.encoder, n_features, sizes)
    fusion = _fusion(variant.fusion, _embedding_width(variant, embedding_dim), encoder.out_dim, sizes)
    scorer = PairClassifier(fusion.out_dim, hidden=sizes.mlp_hidden, mlp_layers=sizes.mlp_layers,
                            classifier_layers=variant.classifier_layers, dropout=sizes.dropout,
                            coexpression=_pair_coexpression(variant, coexpression))
    return LinkPredictor(encoder, fusion, scorer)


def _conv(encoder: str, n_in: int, n_out: int, heads: int) -> nn.Module:
    if encoder == "gcn":
        return GCNConv(n_in, n_out)
    if encoder == "sage":
        return SAGEConv(n_in, n_out)
    if encoder == "gat":
        if n_out % heads:
            raise ValueError(f"GAT width {n_out} is not a multiple of its {heads} heads")
        return GATConv(n_in, n_out // heads, heads=heads)
    raise ValueError(f"unknown encoder {encoder!r}; choose one of {ENCODERS}")


def _encoder(name: str, n_features: int, sizes: ScRegNetSettings) -> GraphEncoder:
    if name == "none":
        return NoGraphEncoder()
    return GNNEncoder(n_features, sizes.hidden, sizes.gnn_layers, sizes.dropout,
                      conv=partial(_conv, name, heads=sizes.heads))


def _fusion(name: str, embedding_dim: int, graph_dim: int, sizes: ScRegNetSettings) -> Fusion:
    if name == "concat":
        return ConcatFusion(embedding_dim, graph_dim)
    if name == "cross_attention":
        return CrossAttentionFusion(embedding_dim, graph_dim, sizes.attention_width, sizes.attention_heads,
                                    sizes.attention_dropout)
    raise ValueError(f"unknown fusion {name!r}; choose one of {FUSIONS}")


def _embedding_width(variant: Variant, embedding_dim: int) -> int:
    if not variant.uses_embedding:
        return 0
    if embedding_dim <= 0:
        raise ValueError(f"variant {variant.name} reads the foundation-model embedding: give its width")
    return embedding_dim


def _pair_coexpression(variant: Variant, coexpression: torch.Tensor | None) -> torch.Tensor | None:
    if not variant.pair_coexpression:
        return None
    if coexpression is None:
        raise ValueError(f"variant {variant.name} scores pairs with their co-expression: give the matrix")
    return coexpression
