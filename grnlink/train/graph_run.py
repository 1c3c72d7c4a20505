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
from grnlink.train.build import build_model
from grnlink.train.data import RunInputs, Scorer, pearson_matrix, split_parts
from grnlink.train.fit import GraphInputs, LabelledPairs, fit, predict, tune
from grnlink.settings import Variant, VariantRun


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


def _build(run: VariantRun, graph_inputs: GraphInputs, overrides: dict[str, Any]) -> torch.nn.Module:
    x, embedding = graph_inputs.x, graph_inputs.embedding
    coexpression = torch.as_tensor(pearson_matrix(x.numpy())) if run.variant.pair_coexpression else None
    return build_model(run, n_features=x.shape[1], embedding_dim=0 if embedding is None else embedding.shape[1],
                       coexpression=coexpression, overrides=overrides)


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


def graph_model_run(inputs: RunInputs, run: VariantRun, labels: np.ndarray, seed: int,
                    tuned: dict[str, Any]) -> tuple[dict[str, Any], Scorer]:
    """Fit the variant's graph model to the training pairs with `labels` (after `seed`);
    its run information and a scorer of (TF, target) index pairs."""
    graph_inputs, train, validation, n_added = _model_inputs(inputs, run.variant, labels)
    model_overrides = {k: v for k, v in tuned.items() if k not in ("lr", "optimizer")}
    options = replace(run.fit, **{k: v for k, v in tuned.items() if k in ("lr", "optimizer")})
    seed_everything(seed)
    model = _build(run, graph_inputs, model_overrides)
    result = fit(model, graph_inputs, train, validation, options, seed)

    def scorer(tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        return predict(result.model, graph_inputs, torch.as_tensor(tf, dtype=torch.long),
                       torch.as_tensor(target, dtype=torch.long))

    info = {"epochs": result.epochs, "best_epoch": result.best_epoch,
            "graph_edges": graphs.n_undirected_edges(graph_inputs.edge_index), "added_edges": n_added}
    return info, scorer


def tune_graph_model(inputs: RunInputs, run: VariantRun, labels: np.ndarray, seed: int) -> dict[str, Any]:
    """The best Optuna trial's parameters on validation AUROC."""
    graph_inputs, train, validation, _ = _model_inputs(inputs, run.variant, labels)
    return tune(lambda kwargs: _build(run, graph_inputs, kwargs),
                graph_inputs, train, validation, run.fit, run.optuna_trials, seed)
