"""Accuracy of the train stage's variants on the three shipped BEELINE datasets (TFs+500).

For each dataset and seed: GENELink's hard-negative split (grnlink.split), then every chosen
variant with the train stage's default settings; mean (sd) test AUROC/AUPRC over seeds,
beside the published GENELink and scRegNet numbers. Per-run rows are kept in
bench/accuracy_runs.tsv, so variants can be added in later calls. |Pearson| is computed
here from the same expression (the grn stage computes it in the pipeline).

    snakemake --cores 2 --configfile config/beeline_shipped.yaml \
        results/{hHEP,mDC,mHSC-L}/embed/embeddings.h5ad
    .venv/bin/python bench/accuracy_bench.py --seeds 10 [--embeddings 'results/{dataset}/embed/embeddings.h5ad']
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

from grnlink.dataset import benchmark_genes, benchmark_tfs, training_network  # noqa: E402
from grnlink.genelink import read_genelink  # noqa: E402
from grnlink.split import hard_negative_split  # noqa: E402
from grnlink.train import data as tdata  # noqa: E402
from grnlink.train.data import RunInputs  # noqa: E402
from grnlink.train.run import run_variant  # noqa: E402
from grnlink.train.settings import Settings, Variant  # noqa: E402

DATASETS = ("hHEP", "mDC", "mHSC-L")
PUBLISHED = {  # test AUROC / AUPRC, TFs+500, mean of 50 runs (METHODS.md)
    "GENELink (published)": {"hHEP": (0.82, 0.75), "mDC": (0.70, 0.25), "mHSC-L": (0.84, 0.85)},
    "scRegNet+Geneformer (published)": {"hHEP": (0.90, 0.84), "mDC": (0.81, 0.17), "mHSC-L": (0.88, 0.88)},
}
VARIANTS = {
    "scregnet": {"name": "scregnet"},
    "scregnet_pair_coexpression": {"name": "scregnet_pair_coexpression", "pair_coexpression": True,
                                   "classifier_layers": 1},
    "scregnet_no_gnn": {"name": "scregnet_no_gnn", "encoder": "none"},
    "scregnet_no_embedding": {"name": "scregnet_no_embedding", "embedding": False},
    "scregnet_no_embedding_sage": {"name": "scregnet_no_embedding_sage", "embedding": False, "encoder": "sage"},
    "scregnet_no_embedding_gat": {"name": "scregnet_no_embedding_gat", "embedding": False, "encoder": "gat"},
    "scregnet_no_embedding_coexpression": {"name": "scregnet_no_embedding_coexpression", "embedding": False,
                                           "perturbation": "coexpression"},
    "genelink": {"name": "genelink", "model": "genelink"},
    "pearson": {"name": "pearson", "model": "pearson"},
}
RUNS = Path(__file__).with_name("accuracy_runs.tsv")


def pearson_table(genes: list[str], tfs: list[str], features: np.ndarray) -> pd.DataFrame:
    z = tdata.zscore_rows(features).astype(np.float64)
    corr = np.abs(z @ z.T) / z.shape[1]
    tf_index = [genes.index(t) for t in tfs]
    tf_col, target_col = np.repeat(tf_index, len(genes)), np.tile(np.arange(len(genes)), len(tf_index))
    names = np.asarray(genes)
    return pd.DataFrame({"TF": names[tf_col], "Target": names[target_col], "pearson": corr[tf_col, target_col],
                         "grnboost2": 0.0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--variants", nargs="+", default=["scregnet_no_embedding", "genelink", "pearson"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--embeddings", help="path pattern of embeddings.h5ad with {dataset}")
    parser.add_argument("--summary-only", action="store_true", help="rewrite the section from accuracy_runs.tsv")
    args = parser.parse_args()
    if args.summary_only:
        runs = pd.read_csv(RUNS, sep="\t")
        update_section("Link prediction accuracy (issue 7)", summary(runs, "scregnet" in set(runs["variant"])),
                       command="python bench/accuracy_bench.py (several calls, see bench/accuracy_runs.tsv)")
        return
    torch.set_num_threads(1)
    settings = Settings.from_config({})
    for name in args.datasets:
        rna = read_genelink(ROOT / "resources" / "beeline" / name / "TFs+500", name)
        genes = benchmark_genes(rna)
        embedding = None if not args.embeddings else tdata.read_embedding(args.embeddings.format(dataset=name), genes)
        gene_data = tdata.GeneData(genes=genes, tfs=benchmark_tfs(rna),
                                   features=tdata.expression_features(rna, genes), embedding=embedding)
        baseline = pearson_table(genes, gene_data.tfs, gene_data.features)
        rows = []
        for seed in range(args.seeds):
            split = tdata.index_split(hard_negative_split(genes, training_network(rna), seed), genes)
            inputs = RunInputs(genes=gene_data, split=split, baseline_scores=baseline)
            for key in args.variants:
                variant = Variant.from_config(VARIANTS[key])
                metrics = run_variant(inputs, variant, settings, seed, [], 0, 1).metrics.assign(dataset=name)
                rows.append(metrics)
                m = metrics.iloc[0]
                print(f"{name} seed {seed} {key}: val {m.val_auroc:.3f} test {m.test_auroc:.3f} "
                      f"{m.wall_s:.1f} s", flush=True)
        runs = merge_runs(pd.concat(rows, ignore_index=True))  # saved per dataset: a long call can be cut short
        update_section("Link prediction accuracy (issue 7)", summary(runs, bool(args.embeddings)),
                       command=" ".join(["python", "bench/accuracy_bench.py", *sys.argv[1:]]))


def merge_runs(new: pd.DataFrame) -> pd.DataFrame:
    """Replace the (dataset, variant, seed) rows of bench/accuracy_runs.tsv by `new`; return all."""
    if RUNS.exists():
        old = pd.read_csv(RUNS, sep="\t")
        key = ["dataset", "variant", "seed"]
        keep = ~old.set_index(key).index.isin(new.set_index(key).index)
        new = pd.concat([old[keep], new], ignore_index=True)
    new.to_csv(RUNS, sep="\t", index=False)
    return new


def summary(runs: pd.DataFrame, with_embedding: bool) -> str:
    def cell(values: pd.Series) -> str:
        return f"{values.mean():.3f} ({values.std():.3f})" if len(values) > 1 else f"{values.mean():.3f}"

    table = runs.groupby(["variant", "dataset"]).agg(
        test_auroc=("test_auroc", cell), test_auprc=("test_auprc", cell), val_auroc=("val_auroc", cell),
        seeds=("seed", "nunique"), wall_s=("wall_s", "mean"), epochs=("epochs", "mean")).reset_index()
    auroc = table.pivot(index="variant", columns="dataset", values="test_auroc")
    auprc = table.pivot(index="variant", columns="dataset", values="test_auprc")
    for label, numbers in PUBLISHED.items():
        auroc.loc[label] = {d: f"{v[0]:.2f}" for d, v in numbers.items()}
        auprc.loc[label] = {d: f"{v[1]:.2f}" for d, v in numbers.items()}
    reference = "scregnet" if "scregnet" in set(runs["variant"]) else "scregnet_no_embedding"
    deltas = "(needs runs of the reference variant)"
    if reference in set(runs["variant"]):
        paired = runs.pivot_table(index=["dataset", "seed"], columns="variant", values="test_auroc")
        deltas = paired.sub(paired[reference], axis=0).groupby("dataset").mean().T.drop(index=reference)
        deltas = deltas.to_markdown(floatfmt="+.3f")
    note = ("Embeddings: the embed stage's defaults (a Geneformer-architecture model self-pretrained on the "
            "three datasets' cells), made by `snakemake --cores 2 --configfile config/beeline_shipped.yaml "
            "results/{hHEP,mDC,mHSC-L}/embed/embeddings.h5ad`.\n\n" if with_embedding else
            "The foundation-model embedding was not part of this call; variants with it appear once "
            "the embed stage's embeddings were passed with --embeddings.\n\n")
    return (f"Test AUROC, mean (sd) over seeds, GENELink hard-negative split (67/10/23 per TF), train-stage "
            f"default settings; model choice and early stopping on validation only.\n\n{note}"
            f"### Test AUROC\n\n{auroc.to_markdown()}\n\n### Test AUPRC (average precision)\n\n{auprc.to_markdown()}"
            f"\n\n### What each variant adds: mean test AUROC difference to {reference}, paired by seed\n\n"
            f"{deltas}"
            f"\n\n### Per variant and dataset\n\n{table.to_markdown(index=False, floatfmt='.2f')}\n")


if __name__ == "__main__":
    main()
