"""One configured variant on one split: the clean run plus its label-noise replicates.

A variant is scRegNet (any encoder, with or without the embedding, with or without edge
perturbation), GENELink, or an unsupervised baseline score (|Pearson|, GRNBoost2) read
from the `grn` stage. Every run yields a metrics row; the clean run also yields its scored
test pairs and the ranked new edges over all candidate pairs outside the training part.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from grnlink import dataset
from grnlink.config import dataclass_from_config
from grnlink.errors import InputError
from grnlink.reproducibility import seed_everything
from grnlink.train import data as tdata
from grnlink.train.fit import FitOptions, GraphInputs, LabelledPairs, fit, predict, tune
from grnlink.train.metrics import auprc, auroc
from grnlink.train.models import ENCODERS, FUSIONS, GENELink, ScRegNet

log = logging.getLogger(__name__)

TRAINED_MODELS = ("scregnet", "genelink")
BASELINE_MODELS = ("pearson", "grnboost2")
PERTURBATIONS = ("none", "coexpression", "prior")
METRIC_COLUMNS = ["dataset", "variant", "seed", "noise", "replicate", "val_auroc", "test_auroc", "test_auprc",
                  "epochs", "wall_s"]

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Variant:
    """One entry of the `train.variants` config list."""

    name: str
    model: str = "scregnet"
    encoder: str = "gcn"
    embedding: bool = True
    perturbation: str = "none"
    perturbation_ratio: float = 0.2
    noise: bool = False
    fusion: str = "concat"
    classifier_layers: int = 0
    pair_coexpression: bool = False

    def __post_init__(self) -> None:
        if self.model not in TRAINED_MODELS + BASELINE_MODELS:
            raise ValueError(f"variant {self.name}: unknown model {self.model!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"variant {self.name}: unknown encoder {self.encoder!r}")
        if self.perturbation not in PERTURBATIONS:
            raise ValueError(f"variant {self.name}: unknown perturbation {self.perturbation!r}")
        if self.model == "scregnet" and self.encoder == "none" and not self.embedding:
            raise ValueError(f"variant {self.name}: scRegNet without GNN needs the embedding")
        if self.fusion not in FUSIONS:
            raise ValueError(f"variant {self.name}: unknown fusion {self.fusion!r}")
        if self.fusion == "cross_attention" and (self.encoder == "none" or not self.embedding):
            raise ValueError(f"variant {self.name}: cross-attention fusion needs the GNN and the embedding")
        if self.model != "scregnet" and (self.classifier_layers or self.pair_coexpression):
            raise ValueError(f"variant {self.name}: classifier_layers and pair_coexpression are scRegNet keys")

    @classmethod
    def from_config(cls, entry: dict[str, Any]) -> Variant:
        return dataclass_from_config(cls, entry)

    @property
    def uses_embedding(self) -> bool:
        return self.model == "scregnet" and self.embedding


def genelink_fit_options(fit_options: FitOptions, lr: float = 3e-3, lr_decay: float = 0.99) -> FitOptions:
    """GENELink's training as published (Adam at `lr`, decayed by `lr_decay` per epoch, no
    edge hold-out); epochs, patience and batch size as for the other variants."""
    return replace(fit_options, lr=lr, lr_decay=lr_decay, edge_holdout=0.0)


SCREGNET_KEYS = ("hidden", "gnn_layers", "mlp_layers", "mlp_hidden", "dropout", "heads", "attention_width",
                 "attention_heads", "attention_dropout")


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters shared by the variants (the `train` config section)."""

    hidden: int = 256
    gnn_layers: int = 2
    mlp_layers: int = 2
    mlp_hidden: int = 128
    dropout: float = 0.2
    heads: int = 4
    attention_width: int = 128
    attention_heads: int = 4
    attention_dropout: float = 0.1
    fit: FitOptions = field(default_factory=FitOptions)
    genelink_fit: FitOptions = field(default_factory=lambda: genelink_fit_options(FitOptions()))
    optuna_trials: int = 0

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Settings:
        fit_keys = {f.name for f in fields(FitOptions)}
        fit_options = FitOptions(**{k: cfg[k] for k in fit_keys if k in cfg})
        genelink = genelink_fit_options(fit_options, **{k: cfg[f"genelink_{k}"] for k in ("lr", "lr_decay")
                                                        if f"genelink_{k}" in cfg})
        trials = cfg.get("optuna_trials", 0) if cfg.get("optuna", False) else 0
        return cls(**{k: cfg[k] for k in SCREGNET_KEYS if k in cfg}, fit=fit_options, genelink_fit=genelink,
                   optuna_trials=trials)

    def scregnet_kwargs(self) -> dict[str, Any]:
        """The shared scRegNet hyper-parameters, as ScRegNet keyword arguments."""
        return {k: getattr(self, k) for k in SCREGNET_KEYS}


@dataclass
class RunInputs:
    """Everything a variant may read for one dataset and split."""

    genes: tdata.GeneData
    split: pd.DataFrame
    baseline_scores: pd.DataFrame | None = None
    prior_tables: list[pd.DataFrame] = field(default_factory=list)


@dataclass
class VariantResult:
    metrics: pd.DataFrame
    test_scores: pd.DataFrame
    new_edges: pd.DataFrame
    tuned: dict[str, Any]


def load_gene_data(preprocessed: str | os.PathLike[str], embedding: str | os.PathLike[str] | None) -> tdata.GeneData:
    """Benchmark genes, benchmark TFs, z-scored expression and (optionally) the embedding."""
    rna, _ = dataset.load(preprocessed)
    genes = dataset.benchmark_genes(rna)
    return tdata.GeneData(
        genes=genes,
        tfs=dataset.benchmark_tfs(rna),
        features=tdata.expression_features(rna, genes),
        embedding=None if embedding is None else tdata.read_embedding(embedding, genes),
    )


def _parts(split: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {part: split[split["part"] == part].reset_index(drop=True) for part in tdata.SPLIT_PARTS}


def _training_graph(inputs: RunInputs, variant: Variant, train: pd.DataFrame, labels: np.ndarray) -> tuple[torch.Tensor, int]:
    """The graph of positive training labels, plus perturbation edges; and how many were added."""
    n_genes = len(inputs.genes.genes)
    graph = tdata.positive_graph(train, labels, n_genes)
    n_extra = int(round(variant.perturbation_ratio * tdata.n_undirected_edges(graph)))
    if variant.perturbation == "coexpression":
        extra = tdata.coexpression_edges(inputs.genes.features, graph, n_extra)
    elif variant.perturbation == "prior":
        extra = tdata.prior_edges(inputs.prior_tables, inputs.genes.genes, graph, n_extra)
    else:
        return graph, 0
    return tdata.merge_graphs(graph, extra, n_nodes=n_genes), tdata.n_undirected_edges(extra)


def _build(variant: Variant, settings: Settings, graph_inputs: GraphInputs, overrides: dict[str, Any]) -> torch.nn.Module:
    n_features = graph_inputs.x.shape[1]
    if variant.model == "genelink":
        return GENELink(n_features)
    kwargs = {**settings.scregnet_kwargs(), **overrides}
    embedding_dim = 0 if graph_inputs.embedding is None else graph_inputs.embedding.shape[1]
    coexpression = torch.as_tensor(tdata.pearson_matrix(graph_inputs.x.numpy())) if variant.pair_coexpression else None
    return ScRegNet(n_features, embedding_dim=embedding_dim, encoder=variant.encoder, fusion=variant.fusion,
                    classifier_layers=variant.classifier_layers, coexpression=coexpression, **kwargs)


def _model_inputs(inputs: RunInputs, variant: Variant, labels: np.ndarray
                  ) -> tuple[GraphInputs, LabelledPairs, LabelledPairs, int]:
    """Graph inputs, training pairs (with `labels`) and validation pairs of a trained variant."""
    parts = _parts(inputs.split)
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


def _trained_run(inputs: RunInputs, variant: Variant, settings: Settings, labels: np.ndarray, seed: int,
                 tuned: dict[str, Any]) -> tuple[dict[str, Any], Scorer]:
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
            "graph_edges": tdata.n_undirected_edges(graph_inputs.edge_index), "added_edges": n_added}
    return info, scorer


def _baseline_scorer(inputs: RunInputs, variant: Variant) -> Scorer:
    if inputs.baseline_scores is None:
        raise ValueError(f"variant {variant.name} needs the baseline scores of the grn stage")
    table = inputs.baseline_scores
    lookup = pd.Series(table[variant.model].to_numpy(float), index=pd.MultiIndex.from_arrays([table["TF"], table["Target"]]))
    lookup = lookup[~lookup.index.duplicated()]
    genes = np.asarray(inputs.genes.genes)

    def scorer(tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        index = pd.MultiIndex.from_arrays([genes[tf], genes[target]])
        scores = lookup.reindex(index).to_numpy()
        if np.isnan(scores).any():
            pair = index[int(np.flatnonzero(np.isnan(scores))[0])]
            raise InputError(None, f"baseline scores lack the pair {pair[0]} -> {pair[1]}")
        return np.abs(scores)

    return scorer


def _score_parts(scorer: Scorer, split: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    parts = _parts(split)
    val = parts["validation"]
    val_scores = scorer(val["tf"].to_numpy(), val["target"].to_numpy())
    test = parts["test"]
    test_scores = scorer(test["tf"].to_numpy(), test["target"].to_numpy())
    metrics = {
        "val_auroc": auroc(val["label"], val_scores),
        "val_auprc": auprc(val["label"], val_scores),
        "test_auroc": auroc(test["label"], test_scores),
        "test_auprc": auprc(test["label"], test_scores),
    }
    return metrics, test[["TF", "Target", "label"]].assign(score=test_scores)


def rank_new_edges(scorer: Scorer, genes: tdata.GeneData, split: pd.DataFrame, top: int) -> pd.DataFrame:
    """Every TF x gene pair (no self pairs) outside the training part, ranked by score;
    the `top` best (all when `top` is 0)."""
    index = {g: i for i, g in enumerate(genes.genes)}
    tf_index = np.array([index[t] for t in genes.tfs], dtype=np.int64)
    tf, target = np.repeat(tf_index, len(genes.genes)), np.tile(np.arange(len(genes.genes)), len(tf_index))
    train = split[split["part"] == "train"]
    train_key = train["tf"].to_numpy(np.int64) * len(genes.genes) + train["target"].to_numpy(np.int64)
    keep = (tf != target) & ~np.isin(tf * len(genes.genes) + target, train_key)
    tf, target = tf[keep], target[keep]
    scores = scorer(tf, target)
    order = np.lexsort((target, tf, -scores))
    if top:
        order = order[:top]
    names = np.asarray(genes.genes)
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1), "TF": names[tf[order]],
                         "Target": names[target[order]], "score": scores[order]})


def _noise_generator(seed: int, noise: float, replicate: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(round(noise * 1000)), replicate])


def run_variant(inputs: RunInputs, variant: Variant, settings: Settings, seed: int,
                noise_levels: list[float], replicates: int, top_new_edges: int) -> VariantResult:
    """The clean run of `variant` and, when its `noise` is on, `replicates` label-corrupted
    runs per noise level (percent of training labels flipped), all scored on the clean
    validation and test parts."""
    train_labels = _parts(inputs.split)["train"]["label"].to_numpy()
    rows: list[dict[str, Any]] = []
    tuned: dict[str, Any] = {}
    common = {"variant": variant.name, "model": variant.model, "seed": seed}

    start = time.perf_counter()
    if variant.model in BASELINE_MODELS:
        scorer, info = _baseline_scorer(inputs, variant), {"epochs": 0, "best_epoch": 0}
    else:
        if settings.optuna_trials and variant.model == "scregnet":
            tuned = _tune(inputs, variant, settings, train_labels, seed)
        info, scorer = _trained_run(inputs, variant, settings, train_labels, seed, tuned)
    metrics, test_scores = _score_parts(scorer, inputs.split)
    new_edges = rank_new_edges(scorer, inputs.genes, inputs.split, top_new_edges)
    rows.append({**common, "noise": 0.0, "replicate": 0, **info, **metrics, "wall_s": time.perf_counter() - start})
    log.info("%s seed %d: validation AUROC %.4f, test AUROC %.4f", variant.name, seed, metrics["val_auroc"],
             metrics["test_auroc"])

    if variant.noise and variant.model in TRAINED_MODELS:
        for noise in noise_levels:
            for replicate in range(replicates):
                start = time.perf_counter()
                labels = tdata.flip_labels(train_labels, noise / 100, _noise_generator(seed, noise, replicate))
                info, noisy_scorer = _trained_run(inputs, variant, settings, labels, seed, tuned)
                metrics, _ = _score_parts(noisy_scorer, inputs.split)
                rows.append({**common, "noise": float(noise), "replicate": replicate, **info, **metrics,
                             "wall_s": time.perf_counter() - start})
                log.info("%s seed %d noise %g%% replicate %d: test AUROC %.4f", variant.name, seed, noise,
                         replicate, metrics["test_auroc"])
    return VariantResult(metrics=pd.DataFrame(rows), test_scores=test_scores, new_edges=new_edges, tuned=tuned)


def _tune(inputs: RunInputs, variant: Variant, settings: Settings, labels: np.ndarray, seed: int) -> dict[str, Any]:
    graph_inputs, train, validation, _ = _model_inputs(inputs, variant, labels)
    return tune(lambda kwargs: _build(variant, settings, graph_inputs, kwargs),
                graph_inputs, train, validation, settings.fit, settings.optuna_trials, seed)


def run_to_files(dataset_name: str, preprocessed: str, split: str, variant_config: dict[str, Any],
                 train_config: dict[str, Any], seed: int, outputs: dict[str, str], embedding: str | None = None,
                 baseline_scores: str | None = None, prior_tables: list[str] | None = None, threads: int = 1) -> None:
    """Read a dataset's inputs, run one variant on one split and write its outputs:
    `metrics` (TSV, one row per run), `test_scores`, `new_edges` (TSV) and `info` (JSON with
    seed, settings, tuned parameters and package versions)."""
    from grnlink.io import write_json, write_table
    from grnlink.reproducibility import package_versions

    torch.set_num_threads(threads)
    variant = Variant.from_config(variant_config)
    settings = Settings.from_config(train_config)
    genes = load_gene_data(preprocessed, embedding if variant.uses_embedding else None)
    inputs = RunInputs(
        genes=genes,
        split=tdata.read_split(split, genes.genes),
        baseline_scores=None if baseline_scores is None else tdata.read_baseline_scores(baseline_scores),
        prior_tables=[tdata.read_celltype_grn(p) for p in prior_tables or []],
    )
    result = run_variant(inputs, variant, settings, seed, list(train_config.get("noise_levels", [])),
                         int(train_config.get("noise_replicates", 0)), int(train_config.get("top_new_edges", 0)))
    write_table(result.metrics.assign(dataset=dataset_name)[["dataset", *result.metrics.columns]], outputs["metrics"])
    write_table(result.test_scores, outputs["test_scores"])
    write_table(result.new_edges, outputs["new_edges"])
    write_json({"dataset": dataset_name, "seed": seed, "variant": variant_config, "settings": train_config,
                "tuned": result.tuned, "threads": threads, "versions": package_versions()}, outputs["info"])


def gather_metrics(paths: list[str]) -> pd.DataFrame:
    """All runs' metrics rows in one table, in the order of `paths`."""
    from grnlink.io import read_table

    tables = [read_table(p, required=METRIC_COLUMNS, sep="\t") for p in paths]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=METRIC_COLUMNS)
