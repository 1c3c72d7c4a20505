"""GRNBoost2's two backends side by side (issue 19): time, memory and accuracy against the truth.

For each dataset, each backend of `grn.backend` runs grnlink's GRNBoost2 (`infer_links`,
the grn stage's settings: up to 500 trees, seed 0) on every benchmark gene with the
benchmark TFs as regulators, on `--threads` cores, in a fresh process (peak memory is that
process's and its workers'). Accuracy: AUROC and AUPRC of the importances (0 for a pair
without an edge) over every pair of a TF with a known target and another benchmark gene,
against the dataset's ground truth, pooled and within TFs; and how many of each backend's
strongest edges the two networks share.

Datasets: the three shipped BEELINE sets (ChIP-seq truth) and the demo (simulated truth;
all cells pooled, where the grn stage runs per cell type), from `--demo` (a preprocessed
demo `.h5mu`; made by the demo's `snakemake ... results/demo/preprocessed.h5mu`).

    python bench/grn_backend_bench.py --demo /tmp/demo/results/demo/preprocessed.h5mu [--write]
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


def one_run(dataset: str, backend: str, threads: int, demo: Path | None, out: Path) -> dict:
    """Infer the network in this process; write it to `out`; time and peak memory."""
    from grnlink.grn.grnboost import infer_links
    from grnlink.settings import GrnSettings

    expression, genes, tfs, _ = load(dataset, demo)
    settings = GrnSettings(seed=0, backend=backend).boosting()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, help="the demo's preprocessed.h5mu (left out when not given)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/grn-backend-bench"))
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        dataset, backend = args.child
        result = one_run(dataset, backend, args.threads, args.demo, args.workdir / f"{dataset}_{backend}.tsv")
        print(json.dumps(result))
        return
    from grnlink.settings import GRN_BACKENDS

    datasets = [*SHIPPED, *(["demo"] if args.demo else [])]
    rows = []
    for dataset in datasets:
        _, genes, _, truth = load(dataset, args.demo)
        networks = {}
        for backend in GRN_BACKENDS:
            command = [sys.executable, __file__, "--threads", str(args.threads), "--workdir", str(args.workdir),
                       "--child", dataset, backend, *(["--demo", str(args.demo)] if args.demo else [])]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout
                                .strip().splitlines()[-1])
            networks[backend] = pd.read_csv(args.workdir / f"{dataset}_{backend}.tsv", sep="\t")
            rows.append({"dataset": dataset, "backend": backend, **result,
                         **accuracy(networks[backend], genes, truth)})
            print(rows[-1], flush=True)
        for top in TOP_EDGES:
            rows[-1][f"top-{top} shared"] = overlap(*networks.values(), top)
    table = pd.DataFrame(rows)
    speed = table.pivot(index="dataset", columns="backend", values="wall_s")
    speedups = (speed["arboreto"] / speed["rustscenic"]).reindex(datasets)
    lines = [f"- {d}: rustscenic {s:.1f}x faster" for d, s in speedups.items()]
    body = (f"GRNBoost2 (grn stage settings: up to 500 trees, seed 0) on every benchmark gene, {args.threads} cores, "
            "one fresh process per run; accuracy against the truth over every (truth TF, gene) pair, importance 0 "
            "when absent; `top-N shared`: share of the N strongest edges both backends find (in the arboreto row)."
            "\n\n" + table.to_markdown(index=False, floatfmt=".3f") + "\n\n" + "\n".join(lines))
    print(body)
    if args.write:
        update_section("GRN backends (issue 19)", body,
                       command=" ".join(["python", "bench/grn_backend_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
