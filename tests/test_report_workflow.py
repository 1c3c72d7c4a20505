"""`snakemake --report` renders every table and figure, from synthetic inputs and from the
real tiny pipeline run; every file the report names exists, is non-empty and readable."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT, run_snakemake
from test_report_figures import assert_readable_figure
from test_report_inputs import NOISE_LEVELS, NOISE_PROTOCOLS, PROTOCOLS, VARIANTS, write_run_inputs

from grnlink.report.tables import gene_set_groups, gene_set_size
from grnlink.report.variants import variant_roles
from grnlink.settings import TrainSettings, dataset_settings

REPORT_RULES = ["report_tables", "report_ablation", "report_label_noise", "report_edge_perturbation",
                "report_lift_over_degree", "report_grn_evaluation", "report_pr_curves", "report_run_info"]
RESULTS_LINE = re.compile(r"^\s*var results = (\{.*\});?\s*$", re.MULTILINE)


def parse_report(html: Path) -> dict[str, dict]:
    """The results (path -> entry) embedded in a rendered Snakemake report."""
    match = RESULTS_LINE.search(html.read_text())
    assert match, f"{html}: no results in the report"
    return json.loads(match.group(1))


def expected_report_files(config: dict) -> set[str]:
    """What the report must hold for this config: tables, figures, run information."""
    config = copy.deepcopy(config)
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    validate(config["train"], str(ROOT / "workflow/schemas/train.schema.yaml"))
    validate(config["split"], str(ROOT / "workflow/schemas/split.schema.yaml"))
    base = "results/report"
    files = {f"{base}/run/versions.tsv", f"{base}/run/config.yaml", f"{base}/figures/grn_evaluation.png"}
    datasets = config["datasets"]
    files |= {f"{base}/figures/pr_curves_{d}.png" for d, c in datasets.items() if c["source"] == "simulate"}
    variants = TrainSettings.from_config(config["train"]).variants
    protocols = config["split"]["protocols"]
    if variants:
        groups = gene_set_groups({d: gene_set_size(dataset_settings(c)) for d, c in datasets.items()})
        roles = variant_roles(variants)
        lift = roles.degree is not None and len(variants) > 1
        for protocol in protocols:
            files |= {f"{base}/tables/link_prediction_{protocol}_{g}.{ext}" for g in groups for ext in ("tsv", "html")}
            noise = config["train"].get("noise_levels") and protocol in config["train"]["noise_protocols"]
            figures = {"ablation": roles.ablations, "edge_perturbation": roles.perturbations,
                       "label_noise": roles.noise if noise else [], "lift_over_degree": lift}
            files |= {f"{base}/figures/{name}_{protocol}.png" for name, on in figures.items() if on}
            files |= {f"{base}/tables/lift_over_degree_{protocol}.tsv"} if lift else set()
    return files


def render_and_check_report(workdir: Path, configfile: Path, *args: str) -> dict[str, dict]:
    html = workdir / "report.html"
    result = run_snakemake(workdir, configfile, "--report", str(html), *args, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    results = parse_report(html)
    assert "grnlink predicts TF" in html.read_text(), "the workflow description (workflow/report/workflow.rst) is missing"
    for path, entry in results.items():
        file = workdir / path
        assert file.is_file() and file.stat().st_size > 0, f"the report names {path}, which is missing or empty"
        assert entry["caption"].strip(), f"{path} has no caption"
        assert entry["data_uri"].startswith("data:") and len(entry["data_uri"]) > 100, f"{path} is not embedded"
        if file.suffix == ".png":
            assert_readable_figure(file, file.with_suffix(".svg"))
    missing = expected_report_files(yaml.safe_load(configfile.read_text())) - set(results)
    assert not missing, f"the report lacks {sorted(missing)}"
    return results


@pytest.mark.slow
def test_report_from_synthetic_inputs(tmp_path):
    config = yaml.safe_load((ROOT / "tests/data/tiny.yaml").read_text())
    config["train"] = {"variants": VARIANTS, "noise_levels": NOISE_LEVELS, "noise_protocols": NOISE_PROTOCOLS}
    config["split"] = {"protocols": PROTOCOLS}
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    write_run_inputs(tmp_path, list(config["datasets"]))
    # Only the report rules run, on the inputs written above, for the report's own outputs.
    allowed = ["--allowed-rules", *REPORT_RULES, "--", *sorted(expected_report_files(config))]
    run = run_snakemake(tmp_path, configfile, "--cores", "2", *allowed, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    results = render_and_check_report(tmp_path, configfile, *allowed)
    table = (tmp_path / "results/report/tables/link_prediction_tf_holdout_TFs+60.md").read_text()
    assert "| scRegNet w/o GNN |" in table and "| Degree baseline (label-only) |" in table
    assert any(path.endswith("label_noise_genelink.png") for path in results)
    assert not any(path.endswith("label_noise_tf_holdout.png") for path in results)
    assert any(path.endswith("lift_over_degree_tf_holdout.png") for path in results)


@pytest.mark.slow
def test_report_of_the_tiny_pipeline_run(finished_tiny_run):
    results = render_and_check_report(finished_tiny_run, ROOT / "tests/data/tiny.yaml")
    assert any("/tables/" in path for path in results)
