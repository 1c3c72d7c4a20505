"""Wall time and peak memory of one training run of the train stage on hHEP TFs+500.

Each run is a fresh process (so peak RSS is that run's), on `--threads` torch threads:
read the GENELink folder, split (seed 0), train with the train stage's default settings
(early stopping on validation), score the test split and rank the new edges. Targets:
scRegNet under 60 s and 2 GiB on 2 CPU cores.

    .venv/bin/python bench/train_bench.py [--embeddings 'results/{dataset}/embed/embeddings.h5ad']
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

DATASET = "hHEP"
VARIANTS = {
    "scregnet (GCN + embedding)": {"name": "scregnet"},
    "scregnet_no_embedding (GCN)": {"name": "scregnet_no_embedding", "embedding": False},
    "genelink": {"name": "genelink", "model": "genelink"},
}


def one_run(variant: dict, threads: int, embeddings: str | None) -> dict:
    """Train one variant in this process; return its metrics, wall time and peak RSS."""
    import torch

    from grnlink.dataset import benchmark_genes, benchmark_tfs, training_network
    from grnlink.genelink import read_genelink
    from grnlink.split import hard_negative_split
    from grnlink.train import data as tdata
    from grnlink.train.run import RunInputs, Settings, Variant, run_variant

    torch.set_num_threads(threads)
    start = time.perf_counter()
    rna = read_genelink(ROOT / "resources" / "beeline" / DATASET / "TFs+500", DATASET)
    genes = benchmark_genes(rna)
    embedding = tdata.read_embedding(embeddings.format(dataset=DATASET), genes) if embeddings else None
    gene_data = tdata.GeneData(genes=genes, tfs=benchmark_tfs(rna), features=tdata.expression_features(rna, genes),
                               embedding=embedding)
    split = tdata.index_split(hard_negative_split(genes, training_network(rna), 0), genes)
    result = run_variant(RunInputs(genes=gene_data, split=split), Variant.from_config(variant),
                         Settings.from_config({}), 0, [], 0, 1000)
    row = result.metrics.iloc[0]
    return {"wall_s": time.perf_counter() - start, "train_s": float(row["wall_s"]), "epochs": int(row["epochs"]),
            "test_auroc": float(row["test_auroc"]),
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embeddings", help="path pattern of embeddings.h5ad with {dataset}")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(json.loads(args.child), args.threads, args.embeddings)))
        return
    rows = []
    for label, variant in VARIANTS.items():
        if variant.get("embedding", True) and variant.get("model", "scregnet") == "scregnet" and not args.embeddings:
            continue
        command = [sys.executable, __file__, "--threads", str(args.threads), "--child", json.dumps(variant)]
        if args.embeddings:
            command += ["--embeddings", args.embeddings]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append({"variant": label, **json.loads(out.strip().splitlines()[-1])})
        print(rows[-1], flush=True)
    lines = ["| variant | whole run (s) | training + scoring (s) | epochs | test AUROC | peak RSS (GiB) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['wall_s']:.1f} | {r['train_s']:.1f} | {r['epochs']} | {r['test_auroc']:.3f} "
              f"| {r['peak_rss_gib']:.2f} |" for r in rows]
    note = ("" if args.embeddings else "\n\nNo embedding was passed (--embeddings), so the full scRegNet row is "
            "missing; the embedding adds one h5ad read and a wider MLP input.")
    update_section("Train stage speed (issue 7)",
                   f"One run on {DATASET} TFs+500 (seed 0, default settings, {args.threads} torch threads); "
                   f"targets: < 60 s and < 2 GiB.\n\n" + "\n".join(lines) + note,
                   command=" ".join(["python", "bench/train_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
