"""Benchmark the grn stage (issue 5).

1. GRNBoost2 on the shipped BEELINE hHEP TFs+500 data (GENELink folder): every gene
   regressed on the 448 TFs with arboreto's GRNBoost2 settings (up to 5000 trees, seed 0):
   grnlink's runner on 1 and 2 cores, and arboreto's own reference loop on the same input
   in the same run (the per-target loop of `arboreto.core.create_graph`, without dask:
   `to_tf_matrix`, `target_gene_indices`, `infer_partial_network`). Targets: >= 1.8x
   speed-up from 1 to 2 cores, 1 core no slower than the reference; the networks must be
   identical.
2. The grn stage of the demo (config/config.yaml) run by snakemake on 2 cores: wall time
   of each grn job and its peak memory (snakemake's benchmark files). Budget: the whole
   stage within 3.5 minutes, the cell-specific step under 4 GiB.

Usage: python bench/grn_bench.py [--targets N] [--demo-dir DIR] [--no-record]
`--demo-dir` reuses a finished demo working directory instead of running the demo.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from arboreto.core import SGBM_KWARGS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results import snakemake_job_benchmarks, update_section  # noqa: E402

from grnlink.grn.grnboost import infer_links, sort_links  # noqa: E402
from grnlink.settings import GrnBoostSettings, GrnSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HHEP = ROOT / "resources" / "beeline" / "hHEP" / "TFs+500"
GRN_RULES = ("grn_celltype", "grn_baseline_scores", "grn_cell_specific", "grn_evaluation")
STAGE_BUDGET_S = 210
MEMORY_BUDGET_MB = 4096


def load_hhep(n_targets: int | None) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    expression = pd.read_csv(HHEP / "BL--ExpressionData.csv", index_col=0)
    tfs = list(pd.read_csv(HHEP / "TF.csv")["TF"])
    genes = list(expression.index)
    targets = genes[:n_targets] if n_targets else genes
    return expression.to_numpy(np.float32).T, genes, tfs, targets


def arboreto_reference(expression: np.ndarray, genes: list[str], tfs: list[str], targets: list[str],
                       settings: GrnBoostSettings) -> pd.DataFrame:
    """arboreto's create_graph loop, run serially in this process."""
    from arboreto.core import infer_partial_network, target_gene_indices, to_tf_matrix

    tf_matrix, tf_names = to_tf_matrix(expression, genes, tfs)
    parts = [
        infer_partial_network("GBM", settings.regressor_kwargs(), tf_matrix, tf_names, genes[i], expression[:, i],
                              early_stop_window_length=settings.early_stop_window, seed=settings.seed)
        for i in target_gene_indices(genes, targets)
    ]
    return sort_links(pd.concat(parts, ignore_index=True), targets)


def cpu_probe_seconds(n_processes: int) -> float:
    """Wall time of `n_processes` concurrent pure-Python loops (the machine's free cores now)."""
    code = "sum(range(10**8))"
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n_processes)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - start


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def grnboost_section(n_targets: int | None) -> str:
    expression, genes, tfs, targets = load_hhep(n_targets)
    # arboreto's GRNBoost2 defaults (its SGBM_KWARGS: 5000 trees; the grn section's learning
    # rate, max_features, subsample and early-stop window are arboreto's), not the grn
    # section's 500 trees: the comparison with arboreto's own loop needs its settings.
    settings = GrnSettings(max_trees=5000, seed=0).boosting()
    assert settings.regressor_kwargs() == SGBM_KWARGS, "the grn section's boosting defaults left arboreto's"
    capacity = 2 * cpu_probe_seconds(1) / cpu_probe_seconds(2)
    t_ref, reference = timed(lambda: arboreto_reference(expression, genes, tfs, targets, settings))
    t1, one = timed(lambda: infer_links(expression, genes, tfs, targets, settings, n_jobs=1))
    t2, two = timed(lambda: infer_links(expression, genes, tfs, targets, settings, n_jobs=2))
    same = one.equals(two) and np.allclose(one["importance"], reference["importance"]) and one[["TF", "target"]].equals(reference[["TF", "target"]])
    speedup = t1 / t2
    table = pd.DataFrame({
        "run": ["arboreto reference loop (1 core)", "grnlink, 1 core", "grnlink, 2 cores"],
        "wall_s": [round(t_ref, 1), round(t1, 1), round(t2, 1)],
    })
    return (
        f"### GRNBoost2 on hHEP TFs+500 ({expression.shape[0]} cells, {len(tfs)} TFs, {len(targets)} targets, "
        f"up to {settings.max_trees} trees)\n\n{table.to_markdown(index=False)}\n\n"
        f"- speed-up 1 -> 2 cores: **{speedup:.2f}x** (target >= 1.8x: {'met' if speedup >= 1.8 else 'NOT met'})\n"
        f"- the machine's own speed-up right then (two concurrent pure-Python loops vs one): {capacity:.2f}x; "
        f"GRNBoost2 reached {speedup / capacity:.0%} of it\n"
        f"- 1 core vs the reference loop: {t1 / t_ref:.2f}x its time "
        f"({'no slower' if t1 <= t_ref * 1.05 else 'SLOWER'})\n"
        f"- identical networks (reference, 1 core, 2 cores): {same}\n"
    )


def run_demo(workdir: Path) -> None:
    targets = ["results/demo/grn/evaluation.tsv"]
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"),
                    "--directory", str(workdir), "--configfile", str(ROOT / "config" / "config.yaml"),
                    "--cores", "2", *targets], check=True, capture_output=True)


def demo_section(workdir: Path | None) -> str:
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="grnlink-grn-"))
        run_demo(workdir)
    table = snakemake_job_benchmarks(workdir / "benchmarks", GRN_RULES).drop(columns="rule").round(1)
    table = table[table["job"].str.split("/").str[1].str.startswith("demo")]
    total = table["s"].sum()
    cell_specific = table.loc[table["job"].str.startswith("grn_cell_specific"), "max_rss_mb"].max()
    return (
        f"### demo grn stage (config/config.yaml, 2 cores, jobs run one after another)\n\n"
        f"{table.to_markdown(index=False)}\n\n"
        f"- grn jobs in total: **{total:.0f} s** wall, {table['cpu_s'].sum():.0f} s CPU as snakemake "
        f"measured it (budget {STAGE_BUDGET_S} s wall: {'met' if total <= STAGE_BUDGET_S else 'NOT met'})\n"
        f"- cell-specific step peak memory: **{cell_specific:.0f} MB** (budget {MEMORY_BUDGET_MB} MB: "
        f"{'met' if cell_specific < MEMORY_BUDGET_MB else 'NOT met'})\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=None, help="only the first N genes as targets (quick runs)")
    parser.add_argument("--demo-dir", type=Path, default=None, help="a finished demo working directory")
    parser.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    body = grnboost_section(args.targets) + "\n" + demo_section(args.demo_dir)
    body += f"\nLoad average when the run started: {' '.join(load)} (other jobs share the machine).\n"
    print(body)
    if not args.no_record:
        update_section("GRN stage (issue 5)", body)


if __name__ == "__main__":
    main()
