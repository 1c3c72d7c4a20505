"""Graph models on one split: the training graph (with perturbation edges), the network a
variant names (scRegNet or GENELink), its fit with early stopping on validation, and an
optional Optuna search. Imported only by runs of graph models (it needs torch)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from grnlink.reproducibility import seed_everything
from grnlink.train import graphs
from grnlink.train.data import RunInputs, Scorer, pearson_matrix, split_parts
from grnlink.train.fit import GraphInputs, LabelledPairs, fit, predict, tune
from grnlink.train.models import GENELink, ScRegNet
from grnlink.train.settings import Settings, Variant


def _training_graph(inputs: RunInputs, variant: Variant, train: pd.DataFrame,
                    labels: np.ndarray) -> tuple[torch.Tensor, int]:
    """The graph of positive training labels, plus perturbation edges; and how many were added."""
    n_genes = len(inputs.genes.genes)
    graph = graphs.positive_graph(train, labels, n_genes)
    n_extra = int(round(variant.perturbation_ratio * graphs.n_undirected_edges(graph)))
    if variant.perturbation == "coexpression":
        extra = graphs.coexpression_edges(inputs.genes.features, graph, n_extra)
    elif variant.perturbation == "prior":
        extra = graphs.prior_edges(inputs.prior_tables, inputs.genes.genes, graph, n_extra)
    else:
        return graph, 0
    return graphs.merge_graphs(graph, extra, n_nodes=n_genes), graphs.n_undirected_edges(extra)


def _build(variant: Variant, settings: Settings, graph_inputs: GraphInputs,
           overrides: dict[str, Any]) -> torch.nn.Module:
    n_features = graph_inputs.x.shape[1]
    if variant.model == "genelink":
        return GENELink(n_features)
    kwargs = {**settings.scregnet_kwargs(), **overrides}
    embedding_dim = 0 if graph_inputs.embedding is None else graph_inputs.embedding.shape[1]
    coexpression = torch.as_tensor(pearson_matrix(graph_inputs.x.numpy())) if variant.pair_coexpression else None
    return ScRegNet(n_features, embedding_dim=embedding_dim, encoder=variant.encoder, fusion=variant.fusion,
                    classifier_layers=variant.classifier_layers, coexpression=coexpression, **kwargs)


def _model_inputs(inputs: RunInputs, variant: Variant, labels: np.ndarray
                  ) -> tuple[GraphInputs, LabelledPairs, LabelledPairs, int]:
    """Graph inputs, training pairs (with `labels`) and validation pairs of a trained variant."""
    parts = split_parts(inputs.split)
    graph, n_added = _training_graph(inputs, variant, parts["train"], labels)
    embedding = inputs.genes.embedding if variant.uses_embedding else None
    if variant.uses_embedding and embedding is None:
        raise ValueError(f"variant {variant.name} needs the foundation-model embedding")
    graph_inputs = GraphInputs(
        x=torch.as_tensor(inputs.genes.features),
        edge_index=graph,
        embedding=None if embedding is None else torch.as_tensor(embedding),
    )
    train = LabelledPairs.of(parts["train"]["tf"], parts["train"]["target"], labels)
    validation = LabelledPairs.of(*(parts["validation"][c] for c in ("tf", "target", "label")))
    return graph_inputs, train, validation, n_added


def graph_model_run(inputs: RunInputs, variant: Variant, settings: Settings, labels: np.ndarray, seed: int,
                    tuned: dict[str, Any]) -> tuple[dict[str, Any], Scorer]:
    """Fit the variant's graph model to the training pairs with `labels` (after `seed`);
    its run information and a scorer of (TF, target) index pairs."""
    graph_inputs, train, validation, n_added = _model_inputs(inputs, variant, labels)
    options = settings.genelink_fit if variant.model == "genelink" else settings.fit
    model_overrides = {k: v for k, v in tuned.items() if k not in ("lr", "optimizer")}
    options = replace(options, **{k: v for k, v in tuned.items() if k in ("lr", "optimizer")})
    seed_everything(seed)
    model = _build(variant, settings, graph_inputs, model_overrides)
    result = fit(model, graph_inputs, train, validation, options, seed)

    def scorer(tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        return predict(result.model, graph_inputs, torch.as_tensor(tf, dtype=torch.long),
                       torch.as_tensor(target, dtype=torch.long))

    info = {"epochs": result.epochs, "best_epoch": result.best_epoch,
            "graph_edges": graphs.n_undirected_edges(graph_inputs.edge_index), "added_edges": n_added}
    return info, scorer


def tune_graph_model(inputs: RunInputs, variant: Variant, settings: Settings, labels: np.ndarray,
                     seed: int) -> dict[str, Any]:
    """The best Optuna trial's parameters on validation AUROC."""
    graph_inputs, train, validation, _ = _model_inputs(inputs, variant, labels)
    return tune(lambda kwargs: _build(variant, settings, graph_inputs, kwargs),
                graph_inputs, train, validation, settings.fit, settings.optuna_trials, seed)
