"""Wall time and peak memory of one training run of the train stage on hHEP TFs+500.

Each run is a fresh process (so peak RSS is that run's), on `--threads` torch threads:
read the GENELink folder, split (seed 0), train with the train stage's default settings
(early stopping on validation), score the test split and rank the new edges. Targets:
scRegNet under 60 s and 2 GiB on 2 CPU cores. Concatenation and cross-attention fusion
(issue 10) are timed side by side.

Without --embeddings the embedding variants get a seeded random embedding of
--embedding-dim columns: the cost depends on its width, not its values (their accuracy
is not reported then).

    .venv/bin/python bench/train_bench.py [--embeddings 'results/{dataset}/embed/embeddings.h5ad']

`--compare OLD_CHECKOUT` (issue 19) instead trains `--variants` on split `--seeds` with
the library of OLD_CHECKOUT and with this one (the same bench code, each run a fresh
process, one after the other) and writes the section "Training speed, before and after
(issue 19)" (or `--section`): training + scoring wall time, epochs and test AUROC per run.

`--floor` (issue 19) instead trains `--variants` on split `--seeds` twice in fresh
processes: once for the wall time, once counting the floating-point operations of its dense
matrix products as torch dispatches them (`dense_products`). At this machine's
rate for the model's largest product (`gemm_rate`, measured in the same process) those
operations alone take `floor_s`: no change that keeps the model's arithmetic can train faster.

`--overhead` (issue 19) times an epoch of `--variants` (100 epochs, no early stopping) on
hHEP TFs+500 and on its first 40 genes: the same network and operations with next to no
arithmetic. The small one's time is what an epoch costs whatever the size (Python, op
dispatch, the optimizer's loop, validation bookkeeping): the most that training seeds side
by side in one batch could share on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = "GRNLINK_BENCH_CHECKOUT"  # the library a child run imports (--compare)
sys.path.insert(0, os.environ.get(CHECKOUT, str(ROOT)))

from results import update_section  # noqa: E402

DATASET = "hHEP"
VARIANTS = {
    "scregnet (GCN + embedding, concat)": {"name": "scregnet"},
    "scregnet_cross_attention (GCN + embedding, cross-attention)": {"name": "scregnet_cross_attention",
                                                                    "fusion": "cross_attention"},
    "scregnet_no_embedding (GCN)": {"name": "scregnet_no_embedding", "embedding": False},
    "scregnet_pair_coexpression (GCN + embedding, 1 hidden classifier layer)": {
        "name": "scregnet_pair_coexpression", "pair_coexpression": True, "classifier_layers": 1},
    "genelink": {"name": "genelink", "model": "genelink"},
}
DEGREE = {"name": "degree", "model": "degree"}


def hhep_genes(embeddings: str | None, embedding_dim: int):
    """hHEP TFs+500 as the train stage reads it: (GeneData, the AnnData of the GENELink folder).
    Without `embeddings`, a seeded random embedding `embedding_dim` wide."""
    import numpy as np

    from grnlink.dataset import benchmark_genes, benchmark_tfs
    from grnlink.genelink import read_genelink
    from grnlink.train import data as tdata

    rna = read_genelink(ROOT / "resources" / "beeline" / DATASET / "TFs+500", DATASET)
    genes = benchmark_genes(rna)
    if embeddings:
        embedding = tdata.read_embedding(embeddings.format(dataset=DATASET), genes)
    else:
        embedding = np.random.default_rng(0).normal(size=(len(genes), embedding_dim)).astype(np.float32)
    gene_data = tdata.GeneData(genes=genes, tfs=benchmark_tfs(rna), features=tdata.expression_features(rna, genes),
                               embedding=embedding)
    return gene_data, rna


def genelink_split(rna, genes: list[str], seed: int) -> pd.DataFrame:
    """GENELink's split (hard negatives) of split seed `seed`, with gene indices."""
    from grnlink.dataset import training_network
    from grnlink.split import hard_negative_split
    from grnlink.train import data as tdata

    return tdata.index_split(hard_negative_split(genes, training_network(rna), seed), genes)


def default_run(variant: dict, **overrides):
    """The train stage's defaults (with `overrides`), clean labels only, the 1000 best new edges."""
    from grnlink.settings import TrainSettings, Variant

    settings = TrainSettings(variants=(Variant.from_config(variant),), noise_replicates=0, top_new_edges=1000,
                             **overrides)
    return settings.variant_run(variant["name"], protocol="genelink")


def dense_products(work) -> tuple[object, float]:
    """`work()` and the GFLOP of its dense matrix products (forward and backward; products
    with a sparse operand, the graph's, are left out), counted as the ops are dispatched."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    products = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default}

    class Counter(TorchDispatchMode):
        flop = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in products:
                left, right = args[-2], args[-1]  # mm(a, b), addmm(c, a, b), bmm(a, b), baddbmm(c, a, b)
                if left.layout == right.layout == torch.strided:
                    self.flop += 2 * left.numel() * right.shape[-1]
            return func(*args, **(kwargs or {}))

    with Counter() as counter:
        result = work()
    return result, counter.flop / 1e9


def gemm_rate(rows: int, inner: int, columns: int, repeats: int = 50) -> float:
    """GFLOP/s of a float32 (rows x inner) @ (inner x columns) product on torch's threads."""
    import torch

    a, b = torch.randn(rows, inner), torch.randn(inner, columns)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * rows * inner * columns * repeats / (time.perf_counter() - start) / 1e9


def one_run(variant: dict, threads: int, embeddings: str | None, embedding_dim: int, seed: int = 0,
            floor: bool = False) -> dict:
    """Train one variant in this process; return its metrics, wall time and peak RSS (with
    `floor`, counting its dense products: their GFLOP and the GEMM rate)."""
    import torch

    from grnlink.train.data import RunInputs
    from grnlink.train.run import run_variant

    torch.set_num_threads(threads)
    start = time.perf_counter()
    import grnlink.train.graph_run  # noqa: F401 - its PyG import (seconds) counts in the whole run, not the training
    gene_data, rna = hhep_genes(embeddings, embedding_dim)
    split = genelink_split(rna, gene_data.genes, seed)
    train = partial(run_variant, RunInputs(genes=gene_data, split=split), default_run(variant), seed)
    extra = {}
    if floor:
        result, gflop = dense_products(train)
        extra = {"product_gflop": gflop,
                 "gemm_gflops": gemm_rate(len(gene_data.genes), gene_data.features.shape[1], 256)}
    else:
        result = train()
    row = result.metrics.iloc[0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    import grnlink

    return {**extra, "library": str(Path(grnlink.__file__).resolve().parents[1]),
            "wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime,
            "train_s": float(row["wall_s"]), "epochs": int(row["epochs"]),
            "test_auroc": float(row["test_auroc"]), "test_auroc_per_tf": float(row["test_auroc_per_tf"]),
            "peak_rss_gib": usage.ru_maxrss / 2**20, "load_1min": os.getloadavg()[0]}


def epoch_costs(variant: dict, threads: int, embedding_dim: int, seed: int, epochs: int = 100,
                small_genes: int = 40) -> dict:
    """Milliseconds per epoch of `variant` on hHEP TFs+500 and on its first `small_genes`
    genes (their pairs of the same split), `epochs` epochs without early stopping."""
    import importlib

    import torch

    importlib.import_module("grnlink.train.graph_run")  # else the first run imports PyG inside its wall_s
    from grnlink.train.data import GeneData, RunInputs
    from grnlink.train.run import run_variant

    torch.set_num_threads(threads)
    gene_data, rna = hhep_genes(None, embedding_dim)
    split = genelink_split(rna, gene_data.genes, seed)
    kept = gene_data.genes[:small_genes]
    small = GeneData(genes=kept, tfs=[tf for tf in gene_data.tfs if tf in kept],
                     features=gene_data.features[:small_genes], embedding=gene_data.embedding[:small_genes])
    small_split = split[(split["tf"] < small_genes) & (split["target"] < small_genes)].reset_index(drop=True)
    run = default_run(variant, epochs=epochs, patience=epochs)
    row = {}
    for name, genes, pairs in (("hHEP", gene_data, split), (f"{small_genes} genes", small, small_split)):
        metrics = run_variant(RunInputs(genes=genes, split=pairs), run, seed).metrics.iloc[0]
        assert int(metrics["epochs"]) == epochs, metrics
        row[f"{name} ms/epoch"] = 1e3 * float(metrics["wall_s"]) / epochs
        row[f"{name} training pairs"] = int((pairs["part"] == "train").sum())
    return row


def child_output(role: list[str], args: argparse.Namespace, seed: int, checkout: Path = ROOT) -> dict:
    """The JSON line this script prints in a fresh process run as `role` (--child or
    --overhead-child with its variant), with the library of `checkout`."""
    command = [sys.executable, __file__, "--threads", str(args.threads), "--embedding-dim", str(args.embedding_dim),
               "--seed", str(seed), *role]
    if args.embeddings:
        command += ["--embeddings", args.embeddings]
    env = {**os.environ, CHECKOUT: str(checkout)}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_run(variant: dict, args: argparse.Namespace, seed: int = 0, checkout: Path = ROOT,
              floor: bool = False) -> dict:
    """`one_run` in a fresh process, with the library of `checkout`."""
    return child_output(["--child", json.dumps(variant)] + (["--floor"] if floor else []), args, seed, checkout)


def write_section(args: argparse.Namespace, default_title: str, body: str) -> None:
    """Print `body` and write it to RESULTS.md as `--section` (else `default_title`)."""
    print(body)
    update_section(args.section or default_title, body,
                   command=" ".join(["python", "bench/train_bench.py", *sys.argv[1:]]))


def commit(checkout: Path) -> str:
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def fastest_runs(variant: dict, args: argparse.Namespace, seed: int) -> dict[str, dict]:
    """Before's and after's run of `seed`, each the fastest of `args.repeats`, alternating
    (other load only adds time); the repeats must repeat the numbers."""
    checkouts = {"before": args.compare.resolve(), "after": ROOT}
    repeats = {name: [] for name in checkouts}
    for _ in range(args.repeats):
        for name, checkout in checkouts.items():
            repeats[name].append(child_run(variant, args, seed, checkout))
    assert {run["library"] for run in repeats["before"]} == {str(checkouts["before"])}, repeats["before"]
    for runs in repeats.values():
        assert len({(run["epochs"], run["test_auroc"]) for run in runs}) == 1, runs
    return {name: min(runs, key=lambda run: run["train_s"]) for name, runs in repeats.items()}


def compare(args: argparse.Namespace) -> None:
    """Before (`args.compare`) and after (this checkout), variant by variant and seed by seed."""
    rows = []
    for label in args.variants:
        for seed in args.seeds:
            runs = fastest_runs(VARIANTS[label], args, seed)
            rows.append({"variant": label, "seed": seed,
                         **{f"{name} {key}": run[key] for name, run in runs.items()
                            for key in ("train_s", "epochs", "test_auroc")}})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    degree = pd.DataFrame([{"seed": seed, **child_run(DEGREE, args, seed)} for seed in args.seeds])
    table["speed-up"] = table["before train_s"] / table["after train_s"]
    table["AUROC change"] = table["after test_auroc"] - table["before test_auroc"]
    embedding = "the embed stage's embedding" if args.embeddings else f"a random {args.embedding_dim}-column embedding"
    body = (f"One training + scoring (the train stage's defaults, clean labels) on {DATASET} TFs+500, GENELink's "
            f"split of each seed, {args.threads} torch thread(s), {embedding}; before: the library of "
            f"`{args.compare}` (commit {commit(args.compare)}), after: this checkout; each run a fresh process, "
            "one at a time (wall seconds of `run_variant`, process start and reading excluded), the fastest of "
            f"{args.repeats} alternating repeats.\n\n" + table.to_markdown(index=False, floatfmt=".4g")
            + f"\n\nLargest AUROC change: {table['AUROC change'].abs().max():.4f}. The degree baseline (label-only) "
            f"on the same splits: test AUROC {', '.join(f'{v:.4f}' for v in degree['test_auroc'])}, per-TF AUROC "
            f"{', '.join(f'{v:.4f}' for v in degree['test_auroc_per_tf'])} (seeds {args.seeds}); a variant below it has "
            "learnt no more than degree.")
    write_section(args, f"Training speed, before and after, {args.threads} thread(s) (issue 19)", body)


def overhead_table(args: argparse.Namespace) -> None:
    """Each variant's epoch on hHEP beside the same epoch on 40 genes (`epoch_costs`)."""
    rows = []
    for label in args.variants:
        for seed in args.seeds:
            row = {"variant": label, "seed": seed,
                   **child_output(["--overhead-child", json.dumps(VARIANTS[label])], args, seed)}
            row["size-independent share"] = row["40 genes ms/epoch"] / row["hHEP ms/epoch"]
            rows.append(row)
            print(rows[-1], flush=True)
    body = (f"One training of each variant (the train stage's defaults but 100 epochs without early stopping) on "
            f"{DATASET} TFs+500, GENELink's split of each seed, and on its first 40 genes with their pairs of that "
            f"split: the same network and operations, next to no arithmetic. {args.threads} torch thread(s), a "
            f"random {args.embedding_dim}-column embedding, one fresh process per row. Milliseconds per epoch "
            "(training step, validation, and the run's final scoring spread over the epochs). The 40-gene epoch "
            "is what an epoch costs whatever the size: the most that training several seeds side by side in one "
            "batch could share on the CPU, where the rest grows with the seeds.\n\n"
            + pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g"))
    write_section(args, f"Training epoch cost independent of size, {args.threads} thread(s) (issue 19)", body)


def floor_table(args: argparse.Namespace) -> None:
    """Each run's wall time beside the time its dense products take at the GEMM rate."""
    rows = []
    for label in args.variants:
        for seed in args.seeds:
            timed, profiled = child_run(VARIANTS[label], args, seed), child_run(VARIANTS[label], args, seed, floor=True)
            assert (timed["epochs"], timed["test_auroc"]) == (profiled["epochs"], profiled["test_auroc"]), label
            floor_s = profiled["product_gflop"] / profiled["gemm_gflops"]
            rows.append({"variant": label, "seed": seed, "epochs": timed["epochs"], "train_s": timed["train_s"],
                         "product GFLOP": profiled["product_gflop"], "GEMM GFLOP/s": profiled["gemm_gflops"],
                         "floor_s": floor_s, "floor share": floor_s / timed["train_s"]})
            print(rows[-1], flush=True)
    body = (f"One training + scoring (the train stage's defaults, clean labels) on {DATASET} TFs+500, GENELink's "
            f"split of each seed, {args.threads} torch thread(s), a random {args.embedding_dim}-column embedding. "
            "`train_s`: wall seconds of `run_variant` in a fresh process. `product GFLOP`: the floating-point "
            "operations of its dense matrix products (forward, backward, validation and scoring; not the sparse "
            "products with the graph), counted in a second run of the same seed (same epochs and AUROC). "
            "`GEMM GFLOP/s`: this machine's rate for the model's largest product (genes x cells times cells "
            "x 256), measured in that process; smaller products run slower, so `floor_s` (GFLOP / rate) is a "
            "lower bound on any training that does the model's arithmetic.\n\n"
            + pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g"))
    write_section(args, f"Training time against its dense-product floor, {args.threads} thread(s) (issue 19)", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embeddings", help="path pattern of embeddings.h5ad with {dataset}")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--compare", type=Path, help="an older checkout: time it against this one")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--repeats", type=int, default=1, help="--compare: runs of each, the fastest kept")
    parser.add_argument("--floor", action="store_true", help="each run beside its dense-product floor")
    parser.add_argument("--overhead", action="store_true", help="each epoch beside the same epoch on 40 genes")
    parser.add_argument("--section", help="the RESULTS.md section to write (--compare, --floor, --overhead)")
    parser.add_argument("--overhead-child", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(json.loads(args.child), args.threads, args.embeddings, args.embedding_dim,
                                 args.seed, args.floor)))
        return
    if args.overhead_child:
        print(json.dumps(epoch_costs(json.loads(args.overhead_child), args.threads, args.embedding_dim, args.seed)))
        return
    if args.compare:
        compare(args)
        return
    if args.overhead:
        overhead_table(args)
        return
    if args.floor:
        floor_table(args)
        return
    rows = []
    for label, variant in VARIANTS.items():
        rows.append({"variant": label, **child_run(variant, args)})
        print(rows[-1], flush=True)
    lines = ["| variant | whole run, wall (s) | whole run, CPU (s) | training + scoring, wall (s) | epochs | test AUROC "
             "| peak RSS (GiB) | load average |", "|---|---|---|---|---|---|---|---|"]
    random_embedding = not args.embeddings
    for r in rows:
        auroc = "n/a" if random_embedding and "embedding," in r["variant"] else f"{r['test_auroc']:.3f}"
        lines.append(f"| {r['variant']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['train_s']:.1f} | {r['epochs']} "
                     f"| {auroc} | {r['peak_rss_gib']:.2f} | {r['load_1min']:.1f} |")
    note = (f"\n\nNo embedding file was passed: the embedding variants ran on a random {args.embedding_dim}-column "
            "embedding, for time and memory only." if random_embedding else
            "\n\nEmbeddings: the embed stage's, made as in the accuracy section "
            "(`snakemake --cores 2 --configfile config/beeline_shipped.yaml ...`).")
    update_section("Train stage speed (issue 7)",
                   f"One run on {DATASET} TFs+500 (seed 0, default settings, {args.threads} torch threads); "
                   f"targets: < 60 s and < 2 GiB. Other jobs shared the 2 cores (load average column), so wall "
                   f"times are upper bounds; CPU time is the process's own.\n\n" + "\n".join(lines) + note,
                   command=" ".join(["python", "bench/train_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
