"""Synthetic inputs of the report stage, following docs/ARCHITECTURE.md, and their checks.

The builders are shared by the report tests: a metrics table with every kind of variant,
GRN evaluation tables, cell-type GRNs and a preprocessed MuData with a per-cell-type truth.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.io import write_table
from grnlink.report.tables import read_metrics

VARIANTS = [
    {"name": "scregnet"},
    {"name": "no_gnn", "encoder": "none"},
    {"name": "no_embedding", "embedding": False},
    {"name": "coexpression", "perturbation": "coexpression"},
    {"name": "genelink", "model": "genelink", "noise": True},
    {"name": "pearson", "model": "pearson"},
    {"name": "grnboost2", "model": "grnboost2"},
    {"name": "degree", "model": "degree", "noise": True},
]
VARIANTS[0]["noise"] = True
NOISE_LEVELS = [1.0, 2.0]
PROTOCOLS = ["genelink", "tf_holdout"]
NOISE_PROTOCOLS = ["genelink"]
# Scores drop by this much per protocol, so a table that mixed protocols would show it.
PROTOCOL_OFFSET = {"genelink": 0.0, "tf_holdout": 0.1}
TFS = [f"TF{i}" for i in range(4)]
GENES = TFS + [f"G{i}" for i in range(16)]
CELL_TYPES = ["CT1", "CT2"]


def synthetic_metrics(datasets: list[str], seeds: int = 3, replicates: int = 2, seed: int = 0,
                      protocols: list[str] = PROTOCOLS) -> pd.DataFrame:
    """One row per (dataset, protocol, variant, seed, noise, replicate), like results/tables/metrics.tsv.

    Label-noise runs exist in `NOISE_PROTOCOLS` only; per-TF AUPRC is missing (no TF with
    both classes) for seed 0 of tf_holdout; EPR exceeds 1.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for ds in datasets:
        for protocol in protocols:
            for k, variant in enumerate(VARIANTS):
                noisy = variant.get("noise") and protocol in NOISE_PROTOCOLS
                levels = [0.0] + (NOISE_LEVELS if noisy else [])
                for s in range(seeds):
                    for noise in levels:
                        for replicate in range(replicates if noise else 1):
                            auroc = float(np.clip(0.9 - 0.04 * k - 0.02 * noise - PROTOCOL_OFFSET.get(protocol, 0.0)
                                                  + rng.normal(0, 0.01), 0, 1))
                            per_tf_auprc = np.nan if (protocol == "tf_holdout" and s == 0) else auroc - 0.35
                            rows.append({
                                "dataset": ds, "variant": variant["name"], "model": variant.get("model", "scregnet"),
                                "protocol": protocol, "seed": s, "noise": noise, "replicate": replicate,
                                "epochs": 10, "best_epoch": 5, "graph_edges": 100, "added_edges": 0,
                                "val_auroc": auroc, "val_auprc": auroc - 0.3, "test_auroc": auroc,
                                "test_auprc": auroc - 0.3, "test_auroc_per_tf": auroc - 0.05,
                                "test_auprc_per_tf": per_tf_auprc, "test_epr": 10 * (auroc - 0.5), "wall_s": 1.0,
                            })
    return pd.DataFrame(rows)


def synthetic_evaluation(dataset_name: str, seed: int = 0) -> pd.DataFrame:
    """Rows as grnlink.grn.evaluate writes them: per split seed, and per cell type."""
    rng = np.random.default_rng(seed)
    rows = [(n, "split", s, "all") for n in ["pearson", "grnboost2", "atac_supported"] for s in (0, 1)]
    rows += [(n, "cell_type", -1, ct) for n in ["grnboost2", "atac_supported"] for ct in CELL_TYPES]
    table = pd.DataFrame(rows, columns=["network", "scope", "seed", "cell_type"])
    table.insert(0, "dataset", dataset_name)
    return table.assign(n_pairs=100, n_positive=10, auroc=rng.uniform(0.5, 0.9, len(table)),
                        auprc=rng.uniform(0.1, 0.5, len(table)), grn_seed=0)


def synthetic_network() -> pd.DataFrame:
    """Shared edges in both cell types plus edges specific to one."""
    rows = [(tf, g, ct) for ct in CELL_TYPES for tf, g in [("TF0", "G0"), ("TF1", "G1"), ("TF0", "TF1")]]
    rows += [("TF2", f"G{i}", "CT1") for i in range(2, 6)] + [("TF3", f"G{i}", "CT2") for i in range(6, 10)]
    return pd.DataFrame(rows, columns=["Gene1", "Gene2", "cell_type"])


def write_preprocessed(path: Path, seed: int = 0) -> None:
    """A small paired object with the fields the report reads (see dataset.load)."""
    rng = np.random.default_rng(seed)
    n_cells = 40
    genes = GENES + ["UNSELECTED"]
    rna = ad.AnnData(rng.random((n_cells, len(genes)), dtype=np.float32))
    rna.var_names = genes
    rna.obs_names = [f"cell{i}" for i in range(n_cells)]
    rna.obs["cell_type"] = pd.Categorical(np.repeat(CELL_TYPES, n_cells // 2))
    rna.var["is_tf"] = [g in TFS for g in genes]
    rna.var["selected"] = [g != "UNSELECTED" for g in genes]
    rna.uns["network"] = synthetic_network()
    atac = ad.AnnData(rng.random((n_cells, 3), dtype=np.float32))
    atac.var_names = ["chr1:100-600", "chr1:1000-1500", "chr2:100-600"]
    atac.obs_names = rna.obs_names
    dataset.save(rna, atac, path)


def celltype_grn(cell_type: str, network: pd.DataFrame, good: bool, seed: int = 0) -> pd.DataFrame:
    """A cell-type edge table: the true edges plus noise edges; when `good`, the combined
    (ATAC-supported) score ranks the true edges first, the RNA-only importance does not."""
    rng = np.random.default_rng(seed)
    truth = network[network["cell_type"] == cell_type]
    noise = pd.DataFrame({"Gene1": rng.choice(TFS, 12), "Gene2": rng.choice(GENES[4:], 12)})
    edges = pd.concat([truth[["Gene1", "Gene2"]], noise]).drop_duplicates().reset_index(drop=True)
    score = rng.random(len(edges))
    if good:
        score[: len(truth)] += 1.0
    link = np.where(np.arange(len(edges)) % 3 == 2, np.nan, 0.5 * score - 0.3)  # a third without triplet
    return pd.DataFrame({"TF": edges["Gene1"], "target": edges["Gene2"], "importance": rng.random(len(edges)),
                         "atac_support": rng.random(len(edges)), "peaks": "", "link_correlation": link,
                         "correlation": 0.5, "score": score})


def baseline_scores(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pairs = [(tf, g) for tf in TFS for g in GENES]
    return pd.DataFrame({"TF": [p[0] for p in pairs], "Target": [p[1] for p in pairs],
                         "pearson": rng.random(len(pairs)), "grnboost2": rng.random(len(pairs))})


def write_run_inputs(root: Path, datasets: list[str], protocols: list[str] = PROTOCOLS) -> None:
    """Everything the report rules read, in the paths of docs/ARCHITECTURE.md; metrics of
    `protocols` (the config's `split.protocols`)."""
    write_table(synthetic_metrics(datasets, protocols=protocols), root / "results/tables/metrics.tsv")
    for k, ds in enumerate(datasets):
        base = root / "results" / ds
        write_preprocessed(base / "preprocessed.h5mu", seed=k)
        write_table(synthetic_evaluation(ds, seed=k), base / "grn/evaluation.tsv")
        write_table(baseline_scores(seed=k), base / "grn/baseline_scores.tsv")
        for ct in CELL_TYPES:
            write_table(celltype_grn(ct, synthetic_network(), good=True, seed=k), base / f"grn/celltype/{ct}.tsv")


def test_synthetic_preprocessed_object_meets_the_contract(tmp_path):
    write_preprocessed(tmp_path / "p.h5mu")
    rna, atac = dataset.load(tmp_path / "p.h5mu")
    assert dataset.benchmark_genes(rna) == GENES
    assert dataset.benchmark_tfs(rna) == TFS
    assert atac is not None and atac.n_obs == rna.n_obs


def test_synthetic_metrics_table_reads_back(tmp_path):
    write_table(synthetic_metrics(["a"]), tmp_path / "metrics.tsv")
    metrics = read_metrics(tmp_path / "metrics.tsv")
    assert set(metrics["variant"]) == {v["name"] for v in VARIANTS}
    assert sorted(metrics["noise"].unique()) == [0.0, *NOISE_LEVELS]
    assert sorted(metrics["protocol"].unique()) == sorted(PROTOCOLS)
    assert metrics["test_auprc_per_tf"].isna().any() and (metrics["test_epr"] > 1).any()


@pytest.mark.parametrize("bad, message", [("x", "'seed' is not a number"), ("", "'seed' is not a number")])
def test_metrics_with_a_bad_seed_name_file_and_line(tmp_path, bad, message):
    metrics = synthetic_metrics(["a"]).astype({"seed": object})
    metrics.loc[4, "seed"] = bad
    write_table(metrics, tmp_path / "metrics.tsv")
    with pytest.raises(InputError, match=rf"metrics.tsv, line 6: column {message}"):
        read_metrics(tmp_path / "metrics.tsv")


@pytest.mark.parametrize("column, value, message", [
    ("test_auprc", 1.5, "test_auprc 1.5 is outside"),
    ("test_auroc_per_tf", -0.1, "test_auroc_per_tf -0.1 is outside"),
    ("test_auprc_per_tf", 1.2, "test_auprc_per_tf 1.2 is outside"),
    ("test_epr", -1.0, "test_epr -1.0 is negative"),
])
def test_metrics_out_of_range_are_rejected(tmp_path, column, value, message):
    metrics = synthetic_metrics(["a"])
    metrics.loc[2, column] = value
    write_table(metrics, tmp_path / "metrics.tsv")
    with pytest.raises(InputError, match=f"line 4: {message}"):
        read_metrics(tmp_path / "metrics.tsv")


def test_epr_above_one_and_missing_per_tf_scores_are_accepted(tmp_path):
    metrics = synthetic_metrics(["a"])
    metrics.loc[0, "test_epr"] = 25.0
    metrics.loc[1, "test_auroc_per_tf"] = np.nan
    write_table(metrics, tmp_path / "metrics.tsv")
    back = read_metrics(tmp_path / "metrics.tsv")
    assert back.loc[0, "test_epr"] == 25.0 and np.isnan(back.loc[1, "test_auroc_per_tf"])


@pytest.mark.parametrize("column", ["protocol", "test_auroc_per_tf", "test_auprc_per_tf", "test_epr"])
def test_metrics_without_a_new_column_name_file_and_column(tmp_path, column):
    write_table(synthetic_metrics(["a"]).drop(columns=column), tmp_path / "metrics.tsv")
    with pytest.raises(InputError, match=rf"metrics.tsv: missing column\(s\) \['{column}'\]"):
        read_metrics(tmp_path / "metrics.tsv")


def test_metrics_with_an_empty_protocol_name_the_line(tmp_path):
    metrics = synthetic_metrics(["a"])
    metrics.loc[3, "protocol"] = ""
    write_table(metrics, tmp_path / "metrics.tsv")
    with pytest.raises(InputError, match="line 5: column 'protocol' is empty"):
        read_metrics(tmp_path / "metrics.tsv")
