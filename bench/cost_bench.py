"""What a config's training stage costs in CPU-hours, from its dry run and measured jobs (issue 19).

    python bench/cost_bench.py --case after:/tmp/cost-after:config/beeline.yaml \
        --case before:/tmp/cost-before:/tmp/old/config/beeline.yaml:/tmp/old [--write]

Each `--case LABEL:MEASURED:CONFIG[:ROOT]` costs the training jobs Snakemake plans for CONFIG with
the per-job costs measured in the finished run MEASURED:

- the plan: `snakemake -n` of CONFIG (in an empty directory) lists its train_variant jobs
  (dataset, protocol, variant, and the split seed where a job trains one seed; a job
  without a seed wildcard trains every seed of the config); the config's train settings
  (`variant_run`, the function the rule's params call) say how many trainings each seed
  runs: 1, plus noise levels x replicates where the label-noise study runs.
- the costs, per variant, from MEASURED's training jobs (a run of bench/configs/cost_hhep.yaml
  for the BEELINE configs, the demo's own run for the demo), in core seconds (wall seconds
  x the job's threads, from run.json: what a scheduler charges; Snakemake's own cpu_time
  samples the process tree and misses much of a short job): each training's wall seconds
  (metrics.tsv `wall_s`) x threads, and the job's overhead: its seconds in Snakemake's
  benchmark file (process start, imports, reading, training, scoring, writing) less its
  trainings'. A planned job costs one overhead plus its trainings.
- the size of a dataset: a planned dataset with `n_top_genes` N (geo) or a GENELink folder
  `TFs+N` costs (448 + N) / 948 times the measured hHEP TFs+500 (448 TFs, 948 genes): the
  candidate pairs grow with the genes. For GENELink's dense attention (genes squared) this
  underestimates the TFs+1000 sets. Other sources (the simulated demo) cost as measured.

ROOT is the checkout whose Snakefile plans and whose settings count the trainings
(default: this one), so that an older checkout gives the "before" plan.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from results import snakemake_job_benchmarks, update_section

ROOT = Path(__file__).resolve().parents[1]
MEASURED_TFS, MEASURED_GENES = 448, 948  # hHEP TFs+500, the shipped set bench/configs/cost_hhep.yaml trains on
JOB_NAME = re.compile(r"(?P<dataset>.+?)_(?P<protocol>genelink|tf_holdout|gene_holdout)_(?P<variant>.+?)"
                      r"(?:_seed(?P<seed>\d+))?$")


@dataclass(frozen=True)
class Case:
    label: str
    measured: Path
    config: Path
    root: Path = ROOT


def parse_case(text: str) -> Case:
    label, measured, config, *root = text.split(":")
    return Case(label, Path(measured), Path(config), Path(root[0]).resolve() if root else ROOT)


def planned_jobs(root: Path, config: Path, all_seeds: tuple[int, ...]) -> pd.DataFrame:
    """The train_variant jobs of `snakemake -n` for `config`: dataset, protocol, variant and
    the split seeds the job trains (`all_seeds`, the config's, where a job has no seed wildcard)."""
    with tempfile.TemporaryDirectory(prefix="grnlink-plan-") as workdir:
        # Without the local profile: its quiet: [rules] hides the jobs.
        dry_run = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(root / "Snakefile"),
                                  "-d", workdir, "--configfile", str(config.resolve()), "-n",
                                  "--workflow-profile", "none"], check=True, capture_output=True, text=True, cwd=root)
    rows, rule = [], None
    for line in (dry_run.stdout + dry_run.stderr).splitlines():
        stripped = line.strip()
        if stripped.startswith(("rule ", "localrule ")):
            rule = stripped.split()[1].rstrip(":")
        elif stripped.startswith("wildcards:") and rule == "train_variant":
            fields = dict(item.split("=", 1) for item in stripped[len("wildcards:"):].strip().split(", "))
            seeds = (int(fields["seed"]),) if "seed" in fields else all_seeds
            rows.append({**fields, "seeds": seeds})
    if not rows:
        raise SystemExit(f"{config}: the dry run plans no train_variant job")
    return pd.DataFrame(rows)[["dataset", "protocol", "variant", "seeds"]]


def validated_config(root: Path, config: Path) -> dict:
    from snakemake.utils import validate

    data = yaml.safe_load(config.read_text())
    validate(data, str(root / "workflow" / "schemas" / "config.schema.yaml"))
    return data


def settings_of(root: Path):
    """`grnlink.settings` of the checkout `root` (imported afresh when another checkout's is loaded)."""
    loaded = sys.modules.get("grnlink.settings")
    if loaded is not None and Path(loaded.__file__).resolve().parents[1] == root.resolve():
        return loaded
    for name in [m for m in sys.modules if m == "grnlink" or m.startswith("grnlink.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("grnlink.settings")
    finally:
        sys.path.remove(str(root))


def train_config(root: Path, config: Path):
    """`config` as the checkout `root` reads it (a `grnlink.settings.Config`)."""
    return settings_of(root).Config.from_config(validated_config(root, config))


def trainings_per_job(train, jobs: pd.DataFrame) -> pd.Series:
    """Trainings of each planned job: per seed, 1 + noise levels x replicates, as the
    config's train settings `train` give them."""
    # A checkout from before train.noise_seeds (issue 19) plans by protocol only.
    accepted = inspect.signature(train.variant_run).parameters

    def count(job: pd.Series) -> int:
        total = 0
        for seed in job.seeds:
            keys = {"protocol": job.protocol, "dataset": job.dataset, "seed": seed}
            run = train.variant_run(job.variant, **{k: v for k, v in keys.items() if k in accepted})
            total += 1 + len(run.noise_levels) * run.noise_replicates
        return total

    return jobs.apply(count, axis=1)


def size_factors(config: Path) -> dict[str, float]:
    """Each planned dataset's cost relative to hHEP TFs+500 (see the module docstring)."""
    factors = {}
    for name, entry in yaml.safe_load(config.read_text())["datasets"].items():
        top = entry.get("n_top_genes")
        folder = re.search(r"TFs\+(\d+)", str(entry.get("path", "")))
        n = top if top is not None else int(folder.group(1)) if folder else None
        factors[name] = 1.0 if n is None else (MEASURED_TFS + n) / MEASURED_GENES
    return factors


def measured_costs(run: Path) -> pd.DataFrame:
    """Per variant of a finished run: core seconds of a job's overhead and of one training
    (means over the run's jobs of that variant)."""
    jobs = snakemake_job_benchmarks(run / "benchmarks", rules=["train_variant"])
    rows = []
    for _, job in jobs.iterrows():
        match = JOB_NAME.match(job["job"].split("/", 1)[1])
        variant = run / "results" / match["dataset"] / "train" / match["protocol"] / match["variant"]
        folders = [variant / f"seed{match['seed']}"] if match["seed"] else sorted(variant.glob("seed*"))
        metrics = pd.concat([pd.read_csv(folder / "metrics.tsv", sep="\t") for folder in folders])
        threads = json.loads((folders[0] / "run.json").read_text())["threads"]
        trainings_cpu_s = float(metrics["wall_s"].sum()) * threads
        rows.append({"variant": match["variant"], "job_cpu_s": job["s"] * threads - trainings_cpu_s,
                     "training_cpu_s": trainings_cpu_s / len(metrics)})
    if not rows:
        raise SystemExit(f"{run}: no finished train_variant job (benchmarks/train_variant/*.tsv)")
    return pd.DataFrame(rows).groupby("variant").mean()


def cost_case(case: Case) -> pd.DataFrame:
    """Per variant: jobs, trainings and CPU-hours of the case's plan."""
    settings = train_config(case.root, case.config)
    jobs = planned_jobs(case.root, case.config, tuple(settings.seeds))
    jobs["trainings"] = trainings_per_job(settings.train, jobs)
    costs = measured_costs(case.measured)
    missing = sorted(set(jobs["variant"]) - set(costs.index))
    if missing:
        raise SystemExit(f"{case.measured}: no measured job of the variant(s) {missing} that {case.config} plans")
    factor = jobs["dataset"].map(size_factors(case.config))
    cost = jobs["variant"].map(costs["job_cpu_s"]) + jobs["trainings"] * jobs["variant"].map(costs["training_cpu_s"])
    jobs["cpu_h"] = cost * factor / 3600
    return jobs.groupby("variant").agg(jobs=("seeds", "size"), trainings=("trainings", "sum"),
                                       cpu_h=("cpu_h", "sum")).sort_values("cpu_h", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", type=parse_case, required=True,
                        help="LABEL:MEASURED_RUN:CONFIG[:CHECKOUT] (repeatable)")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--section", default="Training cost (issue 19)", help="the section --write replaces")
    args = parser.parse_args()
    summary, details = [], []
    for case in args.case:
        table = cost_case(case)
        name = f"{case.label}, {case.config.name}"
        summary.append({"case": name, "jobs": int(table["jobs"].sum()), "trainings": int(table["trainings"].sum()),
                        "CPU-hours": table["cpu_h"].sum()})
        details.append(f"### {name} (costs measured in {case.measured})\n\n"
                       + table.reset_index().to_markdown(index=False, floatfmt=".2f"))
        print(summary[-1], flush=True)
    body = ("Training jobs planned by `snakemake -n` of each config, trainings per job from its settings, "
            "core seconds of a job's overhead and of a training measured in a finished run (CPU-hours below are "
            "core-hours: wall x threads; see the docstring of bench/cost_bench.py for the model). The measured "
            "BEELINE runs are `snakemake --cores 1 --configfile bench/configs/cost_hhep.yaml` of each checkout "
            "(training jobs one at a time, 1 thread each; a case's checkout is the last field of --case); the "
            "demo's are `make bench-demo` runs (2 jobs at a time).\n\n" + pd.DataFrame(summary).to_markdown(index=False, floatfmt=".2f")
            + "\n\n" + "\n\n".join(details))
    print(body)
    if args.write:
        update_section(args.section, body, command=" ".join(["python", "bench/cost_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
