"""Graph models on one split: the training graph (with its perturbation), the inferred GRN
graph, the network a variant names (scRegNet, grnlink or GENELink), its fit with early
stopping on validation (grnlink: on top of the evidence regression's logit), and an
optional Optuna search. Imported only by runs of graph models (it needs torch)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from grnlink.reproducibility import seed_everything
from grnlink.train import graphs
from grnlink.train.build import build_model
from grnlink.train.data import RunInputs, Scorer, pearson_matrix, split_parts
from grnlink.train.evidence_lr import EvidenceRegression, fit_evidence_regression
from grnlink.train.fit import EdgeSwap, GraphInputs, LabelledPairs, fit, predict, tune
from grnlink.settings import VariantRun


@dataclass(frozen=True)
class ModelInputs:
    """A graph model's inputs on one split: genes and graphs, labelled training and
    validation pairs, the inferred GRN graph, and (grnlink) the evidence regression fitted
    to the training pairs, whose logit is each pair's offset."""

    graph: GraphInputs
    train: LabelledPairs
    validation: LabelledPairs
    grn_edges: torch.Tensor | None
    offset: EvidenceRegression | None
    added_edges: int


def _training_graph(inputs: RunInputs, run: VariantRun, train: pd.DataFrame,
                    labels: np.ndarray) -> tuple[torch.Tensor, EdgeSwap | None, int]:
    """The graph of positive training labels, with fixed prior edges added or a per-epoch
    co-expression swap; and how many edges are added or swapped (per epoch)."""
    variant = run.variant
    n_genes = len(inputs.genes.genes)
    graph = graphs.positive_graph(train, labels, n_genes)
    n_extra = int(round(variant.perturbation_ratio * graphs.n_undirected_edges(graph)))
    if variant.perturbation == "coexpression":
        pool = graphs.coexpression_pool(inputs.genes.features, graph, graphs.n_undirected_edges(graph))
        return graph, EdgeSwap(pool, variant.perturbation_ratio), min(n_extra, pool.shape[1])
    if variant.perturbation == "prior":
        extra = graphs.prior_edges(inputs.prior_tables, inputs.genes.genes, graph, n_extra)
        return graphs.merge_graphs(graph, extra, n_nodes=n_genes), None, graphs.n_undirected_edges(extra)
    return graph, None, 0


def _grn_edges(inputs: RunInputs, run: VariantRun, graph: torch.Tensor) -> torch.Tensor | None:
    """The inferred GRN's strongest edges, `grn_edge_ratio` per training edge."""
    if not run.variant.uses_grn_graph:
        return None
    if inputs.evidence is None:
        raise ValueError(f"variant {run.variant.name} needs the grn stage's pair evidence")
    n_edges = int(round(run.model.grn_edge_ratio * graphs.n_undirected_edges(graph)))
    return graphs.inferred_grn_edges(inputs.evidence.strength, n_edges)


def _labelled(part: pd.DataFrame, labels: np.ndarray, offset_model: EvidenceRegression | None,
              training_rows: bool) -> LabelledPairs:
    """Pairs of a split part; with the evidence regression's logit as offset (training rows
    leave their own label out of its degree features)."""
    tf, target = part["tf"].to_numpy(), part["target"].to_numpy()
    offset = None if offset_model is None else offset_model.logit(tf, target, labels if training_rows else None)
    return LabelledPairs.of(tf, target, labels, offset)


def _model_inputs(inputs: RunInputs, run: VariantRun, labels: np.ndarray) -> ModelInputs:
    """Graphs, training pairs (with `labels`) and validation pairs of a trained variant."""
    variant = run.variant
    parts = split_parts(inputs.split)
    graph, swap, n_added = _training_graph(inputs, run, parts["train"], labels)
    embedding = inputs.genes.embedding if variant.uses_embedding else None
    if variant.uses_embedding and embedding is None:
        raise ValueError(f"variant {variant.name} needs the foundation-model embedding")
    offset_model = None
    if variant.model == "grnlink":
        train = parts["train"]
        offset_model = fit_evidence_regression(train["tf"].to_numpy(), train["target"].to_numpy(), labels,
                                               len(inputs.genes.genes), inputs.evidence)
    graph_inputs = GraphInputs(x=torch.as_tensor(inputs.genes.features), edge_index=graph,
                               embedding=None if embedding is None else torch.as_tensor(embedding), swap=swap)
    grn_edges = _grn_edges(inputs, run, graph)
    device = torch.device(inputs.device)
    return ModelInputs(
        graph=graph_inputs.to(device),
        train=_labelled(parts["train"], labels, offset_model, training_rows=True).to(device),
        validation=_labelled(parts["validation"], parts["validation"]["label"].to_numpy(), offset_model,
                             training_rows=False).to(device),
        grn_edges=None if grn_edges is None else grn_edges.to(device),
        offset=offset_model,
        added_edges=n_added,
    )


def _build(run: VariantRun, inputs: RunInputs, model_inputs: ModelInputs, overrides: dict[str, Any]) -> torch.nn.Module:
    """The variant's untrained network, on the inputs' device."""
    x, embedding = model_inputs.graph.x, model_inputs.graph.embedding
    variant = run.variant
    coexpression = torch.as_tensor(pearson_matrix(inputs.genes.features)) if variant.pair_coexpression else None
    evidence = torch.as_tensor(inputs.evidence.values) if variant.model == "grnlink" else None
    model = build_model(run, n_features=x.shape[1], embedding_dim=0 if embedding is None else embedding.shape[1],
                        coexpression=coexpression, grn_edges=model_inputs.grn_edges, evidence=evidence,
                        overrides=overrides)
    return model.to(x.device)


def graph_model_run(inputs: RunInputs, run: VariantRun, labels: np.ndarray, seed: int,
                    tuned: dict[str, Any]) -> tuple[dict[str, Any], Scorer]:
    """Fit the variant's graph model to the training pairs with `labels` (after `seed`);
    its run information and a scorer of (TF, target) index pairs."""
    model_inputs = _model_inputs(inputs, run, labels)
    model_overrides = {k: v for k, v in tuned.items() if k not in ("lr", "optimizer")}
    options = replace(run.fit, **{k: v for k, v in tuned.items() if k in ("lr", "optimizer")})
    seed_everything(seed)
    model = _build(run, inputs, model_inputs, model_overrides)
    result = fit(model, model_inputs.graph, model_inputs.train, model_inputs.validation, options, seed)
    offset_model = model_inputs.offset

    def scorer(tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        # grnlink's offset model checks that the evidence table covers the pairs.
        device = model_inputs.graph.x.device
        offset = None if offset_model is None else torch.as_tensor(offset_model.logit(tf, target), dtype=torch.float32,
                                                                   device=device)
        return predict(result.model, model_inputs.graph, torch.as_tensor(tf, dtype=torch.long, device=device),
                       torch.as_tensor(target, dtype=torch.long, device=device), offset)

    info = {"epochs": result.epochs, "best_epoch": result.best_epoch,
            "graph_edges": graphs.n_undirected_edges(model_inputs.graph.edge_index),
            "added_edges": model_inputs.added_edges,
            "grn_edges": 0 if model_inputs.grn_edges is None else graphs.n_undirected_edges(model_inputs.grn_edges)}
    return info, scorer


def tune_graph_model(inputs: RunInputs, run: VariantRun, labels: np.ndarray, seed: int) -> dict[str, Any]:
    """The best Optuna trial's parameters on validation AUROC."""
    model_inputs = _model_inputs(inputs, run, labels)
    return tune(lambda kwargs: _build(run, inputs, model_inputs, kwargs), model_inputs.graph,
                model_inputs.train, model_inputs.validation, run.fit, run.optuna_trials, seed)
