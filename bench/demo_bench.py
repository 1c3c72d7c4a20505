"""Run the default demo from scratch and record per-rule times from Snakemake's benchmark files.

Usage: python bench/demo_bench.py [--cores 2] [--workdir DIR]
Budget (DEVELOPERS.md): the whole demo within 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from results import snakemake_job_benchmarks, update_section

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 8 * 60


def per_rule_times(benchmark_dir: Path) -> pd.DataFrame:
    jobs = snakemake_job_benchmarks(benchmark_dir)
    return (jobs.groupby("rule").agg(jobs=("job", "size"), total_s=("s", "sum"), max_job_s=("s", "max"),
                                     max_rss_mb=("max_rss_mb", "max"))
            .sort_values("total_s", ascending=False).reset_index())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="grnlink-demo-"))
    shutil.rmtree(workdir / "results", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"),
                    "--directory", str(workdir), "--configfile", str(ROOT / "config" / "config.yaml"),
                    "--cores", str(args.cores)], check=True)
    wall = time.perf_counter() - start
    table = per_rule_times(workdir / "benchmarks")
    verdict = "within" if wall <= BUDGET_S else "OVER"
    body = (f"Whole demo (`snakemake --cores {args.cores}`, default config, from scratch): **{wall / 60:.1f} min** "
            f"wall, {verdict} the 8-minute budget. Per-rule times (sum over jobs, seconds):\n\n"
            + table.to_markdown(index=False, floatfmt=".1f"))
    update_section("Demo pipeline (issue 2)", body,
                   command=f"python bench/demo_bench.py --cores {args.cores}")
    print(body)


if __name__ == "__main__":
    main()
