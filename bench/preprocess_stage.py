"""Time the simulate -> preprocess -> split chain (issue 3) on the demo and tiny configs,
and harissa's simulator at the demo's size (why grnlink.simulate has its own kinetics).

Usage: python bench/preprocess_stage.py [--cores 2]
Budget: demo simulate + preprocess + splits under 1.5 minutes on 2 cores (issue: 3).
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

from results import snakemake_job_benchmarks, update_section

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 90


def run_chain(configfile: Path, cores: int) -> tuple[float, pd.DataFrame]:
    """Wall time of all split files of every dataset (which pulls simulate/preprocess)."""
    workdir = Path(tempfile.mkdtemp(prefix="grnlink-pre-"))
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"),
                    "--directory", str(workdir), "--configfile", str(configfile), "--cores", str(cores),
                    "--until", "split"], check=True, capture_output=True)
    wall = time.perf_counter() - start
    return wall, snakemake_job_benchmarks(workdir / "benchmarks")[["job", "s", "max_rss_mb"]]


def harissa_seconds_per_cell(n_genes: int = 600, n_tfs: int = 60, cells: int = 3) -> tuple[float, float]:
    """(JIT seconds, seconds per cell) of harissa's numba PDMP, 100 h after a 5 h burn-in."""
    from harissa import NetworkModel

    rng = np.random.default_rng(0)
    model = NetworkModel(n_genes)
    inter = np.zeros((n_genes + 1, n_genes + 1))
    for tf in range(1, n_tfs + 1):
        targets = rng.choice(np.arange(n_tfs + 1, n_genes + 1), 10, replace=False)
        inter[tf, targets] = rng.choice([-1, 1], 10) * rng.uniform(3, 8, 10)
    inter[0, 1:n_tfs + 1] = 5
    model.inter, model.basal = inter, np.full(n_genes + 1, -4.0)
    start = time.perf_counter()
    model.simulate(np.array([100.0]), burnin=5, use_numba=True)
    jit = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(cells):
        model.simulate(np.array([100.0]), burnin=5, use_numba=True)
    return jit, (time.perf_counter() - start) / cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    lines = []
    for label, configfile in (("demo (config/config.yaml)", ROOT / "config" / "config.yaml"),
                              ("tiny (tests/data/tiny.yaml)", ROOT / "tests" / "data" / "tiny.yaml")):
        wall, jobs = run_chain(configfile, args.cores)
        verdict = "" if "tiny" in label else (" (within" if wall <= BUDGET_S else " (OVER") + " the 90 s budget)"
        lines.append(f"### {label}\n\nsimulate -> preprocess -> all splits: **{wall:.1f} s** wall{verdict}.\n\n"
                     + jobs.to_markdown(index=False, floatfmt=".1f"))
    jit, per_cell = harissa_seconds_per_cell()
    lines.append(f"### harissa 3.1.2 at the demo's size (600 genes, 60 TFs)\n\n{jit:.1f} s JIT, then "
                 f"{per_cell:.2f} s per cell: {3000 * per_cell / args.cores / 60:.1f} min for 3,000 cells on "
                 f"{args.cores} cores, hence grnlink's own vectorised steady-state Hill model.")
    update_section("Simulate, preprocess and split (issue 3)", "\n\n".join(lines),
                   command=f"python bench/preprocess_stage.py --cores {args.cores}")
    print("\n\n".join(lines))


if __name__ == "__main__":
    main()
