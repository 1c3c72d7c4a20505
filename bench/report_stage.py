"""Time the report stage on a finished demo run: its rules rerun, then `snakemake --report`.

Usage: python bench/report_stage.py [--cores 2] [--workdir DIR] [--configfile config/config.yaml]
Without --workdir (or with an unfinished one) the whole pipeline runs first, untimed.
Budget (issue 8): the report stage under 30 s on the demo.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from results import snakemake_job_benchmarks, update_section

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 30
REPORT_RULES = ["report_tables", "report_ablation", "report_label_noise", "report_edge_perturbation",
                "report_lift_over_degree", "report_grn_evaluation", "report_pr_curves", "report_run_info"]


def snakemake(workdir: Path, configfile: Path, *args: str) -> float:
    """Run the workflow on `configfile` in `workdir`; return the wall time in seconds."""
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(configfile), *args]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config" / "config.yaml")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="grnlink-report-"))
    config = args.configfile.resolve()
    snakemake(workdir, config, "--cores", str(args.cores))
    stage = snakemake(workdir, config, "--cores", str(args.cores), "--forcerun", *REPORT_RULES)
    render = snakemake(workdir, config, "--report", str(workdir / "report.html"))
    jobs = snakemake_job_benchmarks(workdir / "benchmarks", REPORT_RULES)[["rule", "job", "s"]]
    verdict = "within" if stage <= BUDGET_S else "OVER"
    name = config.relative_to(ROOT) if config.is_relative_to(ROOT) else config
    body = (f"Report stage on a finished run of `{name}` (its {len(jobs)} jobs forced to rerun, "
            f"`--cores {args.cores}`): "
            f"**{stage:.1f} s** wall including Snakemake's DAG building, {verdict} the {BUDGET_S} s budget; "
            f"`snakemake --report report.html` afterwards: {render:.1f} s. Per job (seconds):\n\n"
            + jobs.to_markdown(index=False, floatfmt=".1f"))
    update_section("Report stage (issue 8)", body,
                   command=f"python bench/report_stage.py --cores {args.cores} --configfile {name}")
    print(body)


if __name__ == "__main__":
    main()
