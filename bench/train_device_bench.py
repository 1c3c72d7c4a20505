"""Training jobs on the CPU and on a GPU (issue 19): wall seconds and test AUROC per seed.

    python bench/train_device_bench.py --devices cpu cuda --threads 8 --seeds 0 1 2 \
        --variants scregnet genelink [--json results.json] [--write]

For each device, one process trains each variant on GENELink's split of every seed of hHEP
TFs+500, one seed after the other, as a training job of the train stage does (the train
stage's defaults, clean labels; `RunInputs.device`, set by `train.device` in the
pipeline). The first seed on a GPU includes CUDA's start. The first seed is trained once
more at the end: the same seed on the same device must give the same numbers. The table
puts each seed's test AUROC beside the degree baseline's on the same split: a variant
below it has learnt no more than degree. `--epochs N` caps the epochs (the tests run the
bench on the CPU at 2 epochs, so that it is ready when a GPU is lent). `--from-rows LOG...`
summarises the rows a run printed on a lent machine (with `--seeds` as that run's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from results import update_section
from train_bench import DEGREE, VARIANTS, default_run, genelink_split, hhep_genes

BY_NAME = {variant["name"]: variant for variant in [*VARIANTS.values(), DEGREE]}


def device_runs(devices: list[str], variants: list[str], seeds: list[int], threads: int, epochs: int | None,
                embedding_dim: int) -> list[dict]:
    """One row per (device, variant, seed, repeat): training seconds, epochs, test AUROC."""
    import torch

    from grnlink.device import pick_device
    from grnlink.train.data import RunInputs
    from grnlink.train.run import run_variant

    torch.set_num_threads(threads)
    gene_data, rna = hhep_genes(None, embedding_dim)
    splits = {seed: genelink_split(rna, gene_data.genes, seed) for seed in seeds}
    overrides = {} if epochs is None else {"epochs": epochs, "genelink_epochs": epochs}
    rows = []
    for requested in devices:
        device = str(pick_device(requested))
        name = torch.cuda.get_device_name() if device == "cuda" else f"CPU, {threads} thread(s)"
        for variant in variants:
            run = default_run(BY_NAME[variant], **overrides)
            for repeat, seed in [(False, seed) for seed in seeds] + [(True, seeds[0])]:
                start = time.perf_counter()
                result = run_variant(RunInputs(genes=gene_data, split=splits[seed], device=device), run, seed)
                row = result.metrics.iloc[0]
                rows.append({"device": name, "variant": variant, "seed": seed, "repeat": repeat,
                             "seconds": time.perf_counter() - start, "epochs": int(row["epochs"]),
                             "test_auroc": float(row["test_auroc"]),
                             "test_auroc_per_tf": float(row["test_auroc_per_tf"])})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: pd.DataFrame, degree: pd.DataFrame) -> str:
    """Per variant and seed: seconds and test AUROC (pooled and per TF) on each device,
    beside degree's on the same split."""
    first = rows[~rows["repeat"]]
    table = first.pivot_table(index=["variant", "seed"], columns="device",
                              values=["seconds", "test_auroc", "test_auroc_per_tf"])
    table.columns = [f"{device} {value}" for value, device in table.columns]
    table = table.join(degree.set_index("seed")[["test_auroc", "test_auroc_per_tf"]].add_prefix("degree "), on="seed")
    repeats = rows[rows["repeat"]].merge(first, on=["device", "variant", "seed"], suffixes=("", "_first"))
    repeats["same"] = repeats["test_auroc"] == repeats["test_auroc_first"]
    totals = first.groupby(["device", "variant"])["seconds"].sum().unstack("device")
    return ("Per seed (the first seed on a GPU includes CUDA's start):\n\n"
            + table.reset_index().to_markdown(index=False, floatfmt=".4g")
            + "\n\nWhole job (all seeds, seconds):\n\n" + totals.reset_index().to_markdown(index=False, floatfmt=".4g")
            + "\n\nThe first seed trained again on the same device gives the same test AUROC: "
            + ", ".join(f"{r.device} {r.variant}: {'yes' if r.same else 'no'}" for r in repeats.itertuples()) + ".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], choices=["cpu", "cuda", "auto"])
    parser.add_argument("--variants", nargs="+", default=["scregnet", "genelink"], choices=sorted(BY_NAME))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    parser.add_argument("--epochs", type=int, help="cap on the epochs (default: the train stage's)")
    parser.add_argument("--embedding-dim", type=int, default=64, help="width of the seeded random embedding")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--from-rows", type=Path, nargs="+",
                        help="summarise the JSON rows that earlier runs printed (a device's log) instead of training")
    parser.add_argument("--measured-on", help="with --from-rows: the machine the rows were measured on")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    if args.from_rows:
        printed = [json.loads(line) for path in args.from_rows for line in path.read_text().splitlines()
                   if line.startswith("{")]
        rows = [r for r in printed if r["variant"] != "degree"]
        degree = [r for r in printed if r["variant"] == "degree"]
    else:
        rows = device_runs(args.devices, args.variants, args.seeds, args.threads, args.epochs, args.embedding_dim)
        degree = device_runs(["cpu"], ["degree"], args.seeds, args.threads, args.epochs, args.embedding_dim)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "degree": degree}, indent=1))
    body = (f"hHEP TFs+500, GENELink's split of seeds {args.seeds}, the train stage's defaults"
            + (f" capped at {args.epochs} epochs" if args.epochs else "")
            + f", a seeded random {args.embedding_dim}-column embedding (time, not accuracy, of the embedding "
            "variants); one process per device trains the seeds one after another, as a training job does.\n\n"
            + summary(pd.DataFrame(rows), pd.DataFrame(degree)[lambda d: ~d["repeat"]]))
    print(body)
    if args.write:
        update_section("Training on CPU and GPU (issue 19)", body,
                       command=" ".join(["python", "bench/train_device_bench.py", *sys.argv[1:]]),
                       measured_on=args.measured_on)


if __name__ == "__main__":
    main()
