"""Every configured variant x split protocol x dataset, measured against the degree baseline.

Runs the pipeline on a config in a working directory of its own, up to
results/tables/metrics.tsv (jobs whose outputs are newer than their inputs are not rerun,
whatever their params, so a call can add seeds or variants to an earlier one), then writes one section of bench/RESULTS.md: per protocol,
per dataset and variant, the test scores (pooled and per-TF AUROC/AUPRC, EPR: mean ± sd
over seeds) and the lift over the label-only degree baseline paired by split seed (mean and
95 % t-interval) for pooled AUROC, AUPRC and per-TF AUROC; with --compare VARIANT, also
VARIANT minus every other method the same way, and with --targets, VARIANT's lift over
degree against those targets (met, or short by how much); with --minus WORKDIR, each method
minus itself in another finished run of the same splits (another backend, say). With --finished-only it runs nothing and
summarises the runs finished so far (while a long bench still runs).

    .venv/bin/python bench/evaluation_bench.py --config config/config.yaml --seeds 5 --all-variants \
        --workdir /tmp/grnlink-eval-demo
    .venv/bin/python bench/evaluation_bench.py --config bench/configs/evaluation_shipped.yaml \
        --workdir /tmp/grnlink-eval-shipped
    .venv/bin/python bench/evaluation_bench.py --config bench/configs/evidence_demo.yaml --compare grnlink \
        --workdir /tmp/grnlink-evidence-demo
    .venv/bin/python bench/evaluation_bench.py --config bench/configs/evidence_shipped.yaml --compare grnlink \
        --targets 0.02,0.03 --workdir /tmp/grnlink-evidence-shipped
    .venv/bin/python bench/evaluation_bench.py --config bench/configs/backend_demo.yaml --grn-backend arboreto \
        --workdir /tmp/grnlink-backend-arboreto
    .venv/bin/python bench/evaluation_bench.py --config bench/configs/backend_demo.yaml --grn-backend rustscenic \
        --workdir /tmp/grnlink-backend-rustscenic --minus /tmp/grnlink-backend-arboreto
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

from grnlink.io import write_table  # noqa: E402
from grnlink.report.lift import LIFT_METRICS, lift_over_baseline  # noqa: E402
from grnlink.report.tables import TABLE_METRICS, clean_runs, format_mean_sd, protocol_title, read_metrics  # noqa: E402
from grnlink.report.variants import variant_roles  # noqa: E402
from grnlink.settings import EmbedSettings, ReportSettings, TrainSettings  # noqa: E402
from grnlink.train.run import gather_metrics  # noqa: E402

METRICS = "results/tables/metrics.tsv"


def run_pipeline(config: dict, workdir: Path, cores: int) -> Path:
    """metrics.tsv of `config` run in `workdir` (the repository's resources/ linked in)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "resources").exists():
        (workdir / "resources").symlink_to(ROOT / "resources")
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "--directory",
                    str(workdir), "--configfile", str(configfile), "--cores", str(cores), METRICS,
                    "--rerun-triggers", "mtime", "input"], check=True)
    return workdir / METRICS


def finished_runs(workdir: Path) -> Path:
    """The metrics rows of every training run finished in `workdir`, as one table."""
    paths = sorted(map(str, workdir.glob("results/*/train/*/*/seed*/metrics.tsv")))
    table = workdir / "results/tables/metrics_finished.tsv"
    write_table(gather_metrics(paths), table)
    return table


def _interval(row: pd.Series) -> str:
    if pd.isna(row["ci_low"]):
        return f"{row['mean']:+.3f}"
    return f"{row['mean']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"


def protocol_table(metrics: pd.DataFrame, protocol: str, labels: dict[str, str], degree: str) -> pd.DataFrame:
    """Rows (dataset, method): test scores (mean ± sd) and the lift over `degree` (mean [95 % CI])."""
    runs = clean_runs(metrics[metrics["protocol"] == protocol])
    lift = lift_over_baseline(metrics, baseline=degree, labels=labels, protocol=protocol)
    rows = []
    for dataset in dict.fromkeys(runs["dataset"]):
        for variant in [v for v in labels if v in set(runs["variant"])]:
            of_run = runs[(runs["dataset"] == dataset) & (runs["variant"] == variant)]
            method = labels[variant].replace("|", "\\|")  # a bare pipe would end the Markdown cell
            row = {"dataset": dataset, "method": method, "seeds": of_run["seed"].nunique()}
            row |= {name: format_mean_sd(of_run[column], 3) for column, name in TABLE_METRICS.items()}
            for column, name in LIFT_METRICS.items():
                match = lift[(lift["dataset"] == dataset) & (lift["variant"] == variant) & (lift["metric"] == column)]
                row[f"lift {name}"] = _interval(match.iloc[0]) if len(match) else ""
            rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(metrics: pd.DataFrame, protocol: str, labels: dict[str, str], variant: str) -> pd.DataFrame:
    """Rows (dataset, other method): `variant`'s score minus the other's, paired by split seed
    (mean [95 % CI]), for the lift metrics."""
    runs = clean_runs(metrics[metrics["protocol"] == protocol])
    others = [v for v in labels if v in set(runs["variant"]) and v != variant]
    differences = {other: lift_over_baseline(metrics, baseline=other, labels=labels, protocol=protocol)
                   for other in others}
    rows = []
    for dataset in dict.fromkeys(runs["dataset"]):
        for other, difference in differences.items():
            rows += _difference_rows(difference, dataset, variant, "against", labels[other])
    return pd.DataFrame(rows)


def _difference_rows(difference: pd.DataFrame, dataset: str, variant: str, key: str, label: str) -> list[dict]:
    """The table row of `variant`'s paired differences on `dataset` (`lift_over_baseline`
    rows): the lift metrics' mean [95 % CI]; no row where it has none."""
    of_pair = difference[(difference["dataset"] == dataset) & (difference["variant"] == variant)]
    if of_pair.empty:
        return []
    row = {"dataset": dataset, key: label.replace("|", "\\|"), "seeds": int(of_pair["n_seeds"].iloc[0])}
    return [row | {name: _interval(of_pair[of_pair["metric"] == column].iloc[0])
                   for column, name in LIFT_METRICS.items()}]


def minus_table(metrics: pd.DataFrame, other: pd.DataFrame, protocol: str, labels: dict[str, str]) -> pd.DataFrame:
    """Rows (dataset, method): the method's score in this run minus its score in the `other`
    run (another config of the same splits), paired by split seed (mean [95 % CI])."""
    runs = clean_runs(metrics[metrics["protocol"] == protocol])
    rows = []
    for variant in [v for v in labels if v in set(runs["variant"])]:
        reference = f"{variant} in the other run"
        both = pd.concat([metrics[metrics["variant"] == variant],
                          other[other["variant"] == variant].assign(variant=reference)])
        difference = lift_over_baseline(both, baseline=reference, protocol=protocol,
                                        labels={variant: labels[variant], reference: reference})
        for dataset in dict.fromkeys(difference["dataset"]):
            rows += _difference_rows(difference, dataset, variant, "method", labels[variant])
    return pd.DataFrame(rows)


def target_lines(metrics: pd.DataFrame, protocol: str, labels: dict[str, str], degree: str, variant: str,
                 targets: dict[str, float]) -> list[str]:
    """Per dataset: `variant`'s mean lift over `degree` for each metric of `targets`, met or
    short by how much."""
    lift = lift_over_baseline(metrics, baseline=degree, labels=labels, protocol=protocol)
    lines = []
    for dataset in dict.fromkeys(lift["dataset"]):
        parts = []
        for column, target in targets.items():
            match = lift[(lift["dataset"] == dataset) & (lift["variant"] == variant) & (lift["metric"] == column)]
            if match.empty:
                continue
            mean = float(match["mean"].iloc[0])
            verdict = "met" if mean >= target else f"short by {target - mean:.3f}"
            parts.append(f"{LIFT_METRICS[column]} {mean:+.3f} (target {target:+.3f}: {verdict})")
        if parts:
            lines.append(f"- {dataset}: " + "; ".join(parts))
    return lines


def section_body(metrics: pd.DataFrame, config: dict, config_name: str, compare: str | None = None,
                 targets: dict[str, float] | None = None, minus: tuple[pd.DataFrame, str] | None = None) -> str:
    """The section: per protocol the scores and lifts over degree; with `compare`, that
    variant minus the others; with `targets`, its lift against them; with `minus` (the
    metrics of another run and its name), each method minus itself in that run."""
    # The configured variants (the default list when the config has none), as the workflow reads them.
    variants = TrainSettings.from_config(config.get("train")).variants
    roles = variant_roles(variants, ReportSettings.from_config(config.get("report")).labels,
                          embedding_model=EmbedSettings.from_config(config.get("embed")).model_name())
    if roles.degree is None:
        raise SystemExit(f"{config_name}: the evaluation bench needs a variant with model: degree")
    parts = [
        f"Config `{config_name}`, seeds {sorted(metrics['seed'].unique().tolist())}. Cells: mean ± sd over split "
        "seeds of the test part. Lift: the method's score minus the degree baseline's on the same dataset, "
        "protocol and split seed, mean [95 % t-interval over seeds]; an interval that excludes 0 is a "
        "difference, one that includes it is not. The degree baseline's own rows show its scores; its lift "
        "columns are empty."
    ]
    if compare and targets:
        groups = TrainSettings.from_config(config.get("train")).variant(compare).evidence_groups
        parts.append(f"Targets for {roles.labels[compare]}: mean lift over degree per protocol and dataset. "
                     f"Evidence groups it reads: {', '.join(groups) or 'none'} (data without ATAC lack "
                     "the atac group), with its GNN over the training graph and the inferred GRN, and "
                     "the embedding.")
    for protocol in dict.fromkeys(metrics["protocol"]):
        table = protocol_table(metrics, protocol, roles.labels, roles.degree)
        parts.append(f"### {protocol_title(protocol)}\n\n" + table.to_markdown(index=False))
        if compare:
            parts.append(f"{roles.labels[compare]} minus each other method, paired by split seed (mean [95 % "
                         "t-interval]):\n\n" + comparison_table(metrics, protocol, roles.labels, compare).to_markdown(index=False))
        if compare and targets:
            parts.append("\n".join(["Targets (lift over degree):",
                                    *target_lines(metrics, protocol, roles.labels, roles.degree, compare, targets)]))
        if minus:
            parts.append(f"Each method in this run minus the same method in {minus[1]}, paired by split seed "
                         "(mean [95 % t-interval]):\n\n"
                         + minus_table(metrics, minus[0], protocol, roles.labels).to_markdown(index=False))
    return "\n\n".join(parts)


def parse_targets(text: str | None) -> dict[str, float] | None:
    """`0.02,0.03` -> {test_auroc: 0.02, test_auprc: 0.03}."""
    if not text:
        return None
    auroc, auprc = (float(value) for value in text.split(","))
    return {"test_auroc": auroc, "test_auprc": auprc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, help="use split seeds 0..N-1 instead of the config's")
    parser.add_argument("--all-variants", action="store_true",
                        help="run the train schema's default variant list instead of the config's")
    parser.add_argument("--finished-only", action="store_true",
                        help="run nothing; summarise the runs finished so far in --workdir")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--grn-backend", choices=["rustscenic", "arboreto"],
                        help="run the grn stage on this GRNBoost2 backend instead of the config's")
    parser.add_argument("--minus", type=Path, metavar="WORKDIR",
                        help="also tabulate each method minus itself in the finished run in WORKDIR")
    parser.add_argument("--compare", metavar="VARIANT",
                        help="also tabulate VARIANT minus every other method, paired by split seed")
    parser.add_argument("--targets", metavar="AUROC,AUPRC",
                        help="with --compare: lift-over-degree targets of VARIANT; says met or short by how much")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    if args.seeds:
        config["seeds"] = list(range(args.seeds))
    if args.all_variants:
        config.setdefault("train", {}).pop("variants", None)
    if args.grn_backend:
        config.setdefault("grn", {})["backend"] = args.grn_backend
    metrics = read_metrics(finished_runs(args.workdir) if args.finished_only
                           else run_pipeline(config, args.workdir, args.cores))
    name = str(args.config.resolve().relative_to(ROOT)) if args.config.resolve().is_relative_to(ROOT) else str(args.config)
    name += " with the default variants" if args.all_variants else ""
    name += f", grn.backend {args.grn_backend}" if args.grn_backend else ""
    name += ", runs finished so far" if args.finished_only else ""
    minus = (read_metrics(args.minus / METRICS), f"the run in `{args.minus}`") if args.minus else None
    update_section(f"Evaluation against the degree baseline: {name} (issue 15)",
                   section_body(metrics, config, name, args.compare, parse_targets(args.targets), minus))


if __name__ == "__main__":
    main()
