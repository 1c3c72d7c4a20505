"""One configured variant on one split: the clean run plus its label-noise replicates.

A variant is scRegNet (any encoder, with or without the embedding, with or without edge
perturbation), grnlink (the evidence regression's logit plus a learned term from the grn
stage's pair evidence, a GNN over the training graph and the inferred GRN, and the
embedding), GENELink, the label-only degree baseline (grnlink.train.degree), the evidence
regression (grnlink.train.evidence_lr), or an unsupervised baseline score (|Pearson|,
GRNBoost2, the cell-type GRN) read from the `grn` stage. Every run
yields a metrics row (validation and test: pooled AUROC/AUPRC; test also their means within
TFs and the early precision ratio); the clean run also yields its scored test pairs and the
ranked new edges over all candidate pairs outside the training part. A training job
(`run_to_files`) runs one variant on the splits of every seed, one after another.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.train import data as tdata
from grnlink.train.data import RunInputs, Scorer, split_parts
from grnlink.train.degree import fit_degree_baseline
from grnlink.train.metrics import ranking_metrics
from grnlink.settings import GRAPH_MODELS, UNSUPERVISED_MODELS, Variant, VariantRun, to_params

log = logging.getLogger(__name__)

TEST_METRIC_COLUMNS = ["test_auroc", "test_auprc", "test_auroc_per_tf", "test_auprc_per_tf", "test_epr"]
METRIC_COLUMNS = ["dataset", "protocol", "variant", "seed", "noise", "replicate", "val_auroc", *TEST_METRIC_COLUMNS,
                  "epochs", "wall_s"]


@dataclass
class VariantResult:
    metrics: pd.DataFrame
    test_scores: pd.DataFrame
    new_edges: pd.DataFrame
    tuned: dict[str, Any]


def load_gene_data(preprocessed: str | os.PathLike[str], embedding: str | os.PathLike[str] | None) -> tdata.GeneData:
    """Benchmark genes, benchmark TFs, z-scored expression and (optionally) the embedding."""
    rna = dataset.load_rna(preprocessed)
    genes = dataset.benchmark_genes(rna)
    return tdata.GeneData(
        genes=genes,
        tfs=dataset.benchmark_tfs(rna),
        features=tdata.expression_features(rna, genes),
        embedding=None if embedding is None else tdata.read_embedding(embedding, genes),
    )


def _degree_run(inputs: RunInputs, labels: np.ndarray) -> tuple[dict[str, Any], Scorer]:
    train = split_parts(inputs.split)["train"]
    model = fit_degree_baseline(train["tf"].to_numpy(), train["target"].to_numpy(), labels, len(inputs.genes.genes))
    return {"epochs": 0, "best_epoch": 0}, model.score


def _evidence_lr_run(inputs: RunInputs, labels: np.ndarray) -> tuple[dict[str, Any], Scorer]:
    from grnlink.train.evidence_lr import fit_evidence_regression

    train = split_parts(inputs.split)["train"]
    model = fit_evidence_regression(train["tf"].to_numpy(), train["target"].to_numpy(), labels,
                                    len(inputs.genes.genes), inputs.evidence)
    return {"epochs": 0, "best_epoch": 0}, model.score


def _fitted_run(inputs: RunInputs, run: VariantRun, labels: np.ndarray, seed: int,
                tuned: dict[str, Any]) -> tuple[dict[str, Any], Scorer]:
    """A supervised variant fitted to the training pairs with `labels`."""
    if run.variant.model == "degree":
        return _degree_run(inputs, labels)
    if run.variant.model == "evidence_lr":
        return _evidence_lr_run(inputs, labels)
    from grnlink.train.graph_run import graph_model_run

    return graph_model_run(inputs, run, labels, seed, tuned)


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
    """Validation AUROC/AUPRC and every test metric; the scored test pairs."""
    parts = split_parts(split)
    scores = {part: scorer(parts[part]["tf"].to_numpy(), parts[part]["target"].to_numpy())
              for part in ("validation", "test")}
    val = ranking_metrics(parts["validation"]["tf"].to_numpy(), parts["validation"]["label"].to_numpy(),
                          scores["validation"])
    test = ranking_metrics(parts["test"]["tf"].to_numpy(), parts["test"]["label"].to_numpy(), scores["test"])
    metrics = {"val_auroc": val["auroc"], "val_auprc": val["auprc"], **{f"test_{k}": v for k, v in test.items()}}
    return metrics, parts["test"][["TF", "Target", "label"]].assign(score=scores["test"])


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


def run_variant(inputs: RunInputs, run: VariantRun, seed: int) -> VariantResult:
    """The clean run of the variant and `run.noise_replicates` label-corrupted runs per
    level of `run.noise_levels` (percent of training labels flipped), all scored on the
    clean validation and test parts."""
    variant = run.variant
    train_labels = split_parts(inputs.split)["train"]["label"].to_numpy()
    rows: list[dict[str, Any]] = []
    tuned: dict[str, Any] = {}
    common = {"variant": variant.name, "model": variant.model, "seed": seed}

    start = time.perf_counter()
    if variant.model in UNSUPERVISED_MODELS:
        scorer, info = _baseline_scorer(inputs, variant), {"epochs": 0, "best_epoch": 0}
    else:
        if run.optuna_trials:
            from grnlink.train.graph_run import tune_graph_model

            tuned = tune_graph_model(inputs, run, train_labels, seed)
        info, scorer = _fitted_run(inputs, run, train_labels, seed, tuned)
    metrics, test_scores = _score_parts(scorer, inputs.split)
    new_edges = rank_new_edges(scorer, inputs.genes, inputs.split, run.top_new_edges)
    rows.append({**common, "noise": 0.0, "replicate": 0, **info, **metrics, "wall_s": time.perf_counter() - start})
    log.info("%s seed %d: validation AUROC %.4f, test AUROC %.4f, per-TF AUROC %.4f", variant.name, seed,
             metrics["val_auroc"], metrics["test_auroc"], metrics["test_auroc_per_tf"])

    for noise in run.noise_levels:
        for replicate in range(run.noise_replicates):
            start = time.perf_counter()
            labels = tdata.flip_labels(train_labels, noise / 100, _noise_generator(seed, noise, replicate))
            info, noisy_scorer = _fitted_run(inputs, run, labels, seed, tuned)
            metrics, _ = _score_parts(noisy_scorer, inputs.split)
            rows.append({**common, "noise": float(noise), "replicate": replicate, **info, **metrics,
                         "wall_s": time.perf_counter() - start})
            log.info("%s seed %d noise %g%% replicate %d: test AUROC %.4f", variant.name, seed, noise,
                     replicate, metrics["test_auroc"])
    return VariantResult(metrics=pd.DataFrame(rows), test_scores=test_scores, new_edges=new_edges, tuned=tuned)


@dataclass(frozen=True)
class SeedJob:
    """One split seed of a training job: the settings its runs read, its split file and its
    output files by key (`metrics`, `test_scores`, `new_edges`: TSV; `info`: JSON)."""

    seed: int
    run: VariantRun
    split: str
    outputs: Mapping[str, str]


def run_to_files(jobs: Sequence[SeedJob], *, dataset_name: str, protocol: str, preprocessed: str,
                 embedding: str | None = None, baseline_scores: str | None = None,
                 prior_tables: list[str] | None = None, pair_evidence: str | None = None,
                 threads: int = 1, device: str = "auto") -> None:
    """Run one variant on the splits of `protocol` of several seeds, one seed after the
    other in this process, and write each seed's outputs: `metrics` (one row per run),
    `test_scores`, `new_edges` and `info` (JSON with seed, protocol, settings, tuned
    parameters, threads, device and package versions).

    The dataset's inputs are read once for all seeds; each seed's runs start from its own
    seed (`seed_everything` before every fit), so they give the numbers the seed gets in a
    job of its own. Graph models train on `device` (`grnlink.device.pick_device`)."""
    variant = jobs[0].run.variant
    if any(job.run.variant != variant for job in jobs):
        raise ValueError(f"one training job trains one variant, not {sorted({j.run.variant.name for j in jobs})}")
    torch_device = "cpu"
    if variant.model in GRAPH_MODELS:
        import torch

        from grnlink.device import pick_device

        torch.set_num_threads(threads)
        torch_device = str(pick_device(device))
    genes = load_gene_data(preprocessed, embedding if variant.uses_embedding else None)
    shared = RunInputs(
        genes=genes,
        split=pd.DataFrame(),
        baseline_scores=None if baseline_scores is None else tdata.read_baseline_scores(baseline_scores),
        prior_tables=[tdata.read_celltype_grn(p) for p in prior_tables or []],
        evidence=None if pair_evidence is None else tdata.load_pair_evidence(
            pair_evidence, genes.genes, variant.evidence_groups),
        device=torch_device,
    )
    if shared.evidence is not None:
        log.info("pair evidence: %d columns (%s)", len(shared.evidence.columns), ", ".join(shared.evidence.columns))
    for number, job in enumerate(jobs, start=1):
        log.info("%s on %s split seed %d (%d of %d seeds), %s", variant.name, protocol, job.seed, number,
                 len(jobs), torch_device)
        result = run_variant(replace(shared, split=tdata.read_split(job.split, genes.genes)), job.run, job.seed)
        _write_seed_outputs(result, job, {"dataset": dataset_name, "protocol": protocol, "seed": job.seed,
                                          "threads": threads, "device": torch_device})


def _write_seed_outputs(result: VariantResult, job: SeedJob, run_info: dict[str, Any]) -> None:
    """A seed's metrics (with its dataset and protocol), test scores, new edges and run.json
    (`run_info`, the settings, tuned parameters and package versions)."""
    from grnlink.io import write_json, write_table
    from grnlink.reproducibility import package_versions

    metrics = result.metrics.assign(dataset=run_info["dataset"], protocol=run_info["protocol"])
    write_table(metrics[["dataset", "protocol", *result.metrics.columns]], job.outputs["metrics"])
    write_table(result.test_scores, job.outputs["test_scores"])
    write_table(result.new_edges, job.outputs["new_edges"])
    write_json({**run_info, "settings": to_params(job.run), "tuned": result.tuned, "versions": package_versions()},
               job.outputs["info"])


def gather_metrics(paths: list[str]) -> pd.DataFrame:
    """All runs' metrics rows in one table, in the order of `paths`."""
    from grnlink.io import read_table

    tables = [read_table(p, required=METRIC_COLUMNS, sep="\t") for p in paths]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=METRIC_COLUMNS)
