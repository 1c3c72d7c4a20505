"""GRNBoost2's two backends side by side (issue 19): time, memory and accuracy against the truth.

For each dataset and seed of `--seeds`, each backend of `grn.backend` runs grnlink's
GRNBoost2 (`infer_links`, the grn stage's settings: up to 500 trees) on every benchmark
gene with the benchmark TFs as regulators, on `--threads` cores, in a fresh process (peak
memory is that process's and its workers'). Accuracy: AUROC and AUPRC of the importances
(0 for a pair without an edge) over every pair of a TF with a known target and another
benchmark gene, against the dataset's ground truth, pooled and within TFs; rustscenic
minus arboreto paired by seed with a 95 % t-interval; and the share of the strongest
edges the two networks have in common.

Datasets: the three shipped BEELINE sets (ChIP-seq truth) and the demo (simulated truth;
all cells pooled, where the grn stage runs per cell type), from `--demo` (a preprocessed
demo `.h5mu`; made by the demo's `snakemake ... results/demo/preprocessed.h5mu`).

    python bench/grn_backend_bench.py --demo /tmp/demo/results/demo/preprocessed.h5mu --seeds 0 1 2 [--write]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

SHIPPED = {name: ROOT / "resources" / "beeline" / name / "TFs+500" for name in ("hHEP", "mDC", "mHSC-L")}
TOP_EDGES = (1000, 10000)


def load(dataset: str, demo: Path | None):
    """(expression cells x genes, genes, TFs, truth network) of a dataset."""
    from grnlink import dataset as ds
    from grnlink.genelink import read_genelink
    from grnlink.grn.celltype import dense

    rna = read_genelink(SHIPPED[dataset], dataset) if dataset in SHIPPED else ds.load_rna(demo)
    genes, tfs = ds.benchmark_genes(rna), ds.benchmark_tfs(rna)
    return dense(rna[:, genes].X), genes, tfs, ds.training_network(rna)


def one_run(dataset: str, backend: str, seed: int, threads: int, demo: Path | None, out: Path) -> dict:
    """Infer the network in this process; write it to `out`; time and peak memory."""
    from grnlink.grn.grnboost import infer_links
    from grnlink.settings import GrnSettings

    expression, genes, tfs, _ = load(dataset, demo)
    settings = GrnSettings(seed=seed, backend=backend).boosting()
    start = time.perf_counter()
    links = infer_links(expression, genes, tfs, genes, settings, n_jobs=threads)
    wall = time.perf_counter() - start
    links.to_csv(out, sep="\t", index=False)
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"wall_s": wall, "peak_rss_mb": peak_kb / 1024, "edges": len(links)}


def accuracy(links: pd.DataFrame, genes: list[str], truth: pd.DataFrame) -> dict[str, float]:
    from grnlink.train.metrics import ranking_metrics

    truth_tfs = sorted(set(truth["Gene1"]))
    tf, target = np.repeat(truth_tfs, len(genes)), np.tile(genes, len(truth_tfs))
    keep = tf != target
    pairs = pd.MultiIndex.from_arrays([tf[keep], target[keep]])
    scores = links.groupby(["TF", "target"])["importance"].max().reindex(pairs, fill_value=0.0).to_numpy()
    labels = pairs.isin(pd.MultiIndex.from_frame(truth[["Gene1", "Gene2"]])).astype(int)
    metrics = ranking_metrics(pairs.get_level_values(0).to_numpy(), labels, scores)
    return {"AUROC": metrics["auroc"], "AUPRC": metrics["auprc"], "per-TF AUROC": metrics["auroc_per_tf"]}


def overlap(a: pd.DataFrame, b: pd.DataFrame, top: int) -> float:
    def best(links):
        return set(map(tuple, links.nlargest(top, "importance")[["TF", "target"]].to_numpy()))
    return len(best(a) & best(b)) / top


METRICS = ["AUROC", "AUPRC", "per-TF AUROC"]


def paired_difference(values: pd.DataFrame) -> str:
    """rustscenic - arboreto over seeds: mean [95 % t-interval]."""
    from scipy import stats

    diff = (values["rustscenic"] - values["arboreto"]).to_numpy()
    if len(diff) < 2:
        return f"{diff.mean():+.3f}"
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return f"{diff.mean():+.3f} [{diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}]"


def run_child(args: argparse.Namespace, dataset: str, backend: str, seed: int) -> dict:
    command = [sys.executable, __file__, "--threads", str(args.threads), "--workdir", str(args.workdir),
               "--child", dataset, backend, str(seed), *(["--demo", str(args.demo)] if args.demo else [])]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, help="the demo's preprocessed.h5mu (left out when not given)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/grn-backend-bench"))
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        dataset, backend, seed = args.child
        out = args.workdir / f"{dataset}_{backend}_{seed}.tsv"
        print(json.dumps(one_run(dataset, backend, int(seed), args.threads, args.demo, out)))
        return
    from grnlink.settings import GRN_BACKENDS

    rows = []
    for dataset in [*SHIPPED, *(["demo"] if args.demo else [])]:
        _, genes, _, truth = load(dataset, args.demo)
        for seed in args.seeds:
            networks = {}
            for backend in GRN_BACKENDS:
                result = run_child(args, dataset, backend, seed)
                networks[backend] = pd.read_csv(args.workdir / f"{dataset}_{backend}_{seed}.tsv", sep="\t")
                rows.append({"dataset": dataset, "seed": seed, "backend": backend, **result,
                             **accuracy(networks[backend], genes, truth),
                             **{f"top-{n} shared": overlap(*networks.values(), n) if len(networks) == 2 else np.nan
                                for n in TOP_EDGES}})
                print(rows[-1], flush=True)
    runs = pd.DataFrame(rows)
    table = runs.groupby(["dataset", "backend"], sort=False).agg(
        wall_s=("wall_s", "mean"), peak_rss_mb=("peak_rss_mb", "max"), edges=("edges", "mean"),
        **{m: (m, "mean") for m in METRICS}, **{f"top-{n} shared": (f"top-{n} shared", "mean") for n in TOP_EDGES})
    table = table.reset_index()
    lines = []
    for dataset, of_dataset in runs.groupby("dataset", sort=False):
        wall = of_dataset.groupby("backend")["wall_s"].mean()
        diffs = ", ".join(f"{m} {paired_difference(of_dataset.pivot(index='seed', columns='backend', values=m))}"
                          for m in METRICS)
        lines.append(f"- {dataset}: rustscenic **{wall['arboreto'] / wall['rustscenic']:.1f}x** faster; "
                     f"rustscenic - arboreto: {diffs}")
    body = (f"GRNBoost2 (grn stage settings: up to 500 trees) on every benchmark gene, {args.threads} cores, one "
            f"fresh process per run, seeds {args.seeds} (means over seeds; peak memory the largest). Accuracy "
            "against the truth over every (truth TF, gene) pair, importance 0 when absent; `top-N shared` (arboreto "
            "rows): share of the N strongest edges both backends find. The demo pools all cells (the grn stage "
            "runs per cell type). These are label-free networks scored against the whole truth, not a test split: the "
            "degree baseline of the split protocols is in the sections 'Evaluation against the degree baseline' "
            "(BEELINE: 0.81-0.91 test AUROC on GENELink's split; demo: 0.805).\n\n" + table.to_markdown(index=False, floatfmt=".3f") + "\n\n" + "\n".join(lines))
    print(body)
    if args.write:
        update_section("GRN backends (issue 19)", body,
                       command=" ".join(["python", "bench/grn_backend_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
