"""Rules hand each job only the settings it reads: after a config change, `snakemake -n`
plans again the jobs that read the changed key and no other job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_snakemake

TINY = ROOT / "tests" / "data" / "tiny.yaml"


def planned_jobs(workdir: Path, tmp_path: Path, section: str, changes: dict) -> dict[str, int]:
    """Rule -> number of jobs that `snakemake -n` plans after `changes` to `section` of the
    tiny config (a dotted section such as `datasets.tiny` names a nested one)."""
    config = yaml.safe_load(TINY.read_text())
    *parents, key = section.split(".")
    parent = config
    for name in parents:
        parent = parent[name]
    parent[key] = {**(parent.get(key) or {}), **changes}
    configfile = tmp_path / f"{section}_{'_'.join(changes)}.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, configfile, "-n", "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    if "Nothing to be done" in result.stdout + result.stderr:
        return {}
    table = (result.stdout + result.stderr).split("Job stats:")[1].split("total")[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


@pytest.mark.parametrize(
    "section, changes, reruns, untouched",
    [
        ("embed", {"layer": -1}, {"embed"}, {"pretrain", "grn_celltype", "split"}),
        ("embed", {"device": "cpu"}, set(), {"pretrain", "embed"}),
        ("embed", {"pretrain_max_steps": 21}, {"pretrain", "embed"}, {"grn_celltype"}),
        ("grn", {"threads": 1}, set(), {"grn_celltype"}),
        ("grn", {"regulon_min_size": 4}, {"grn_cell_specific"}, {"grn_celltype", "grn_baseline_scores"}),
        ("train", {"genelink_epochs": 3}, {"train_variant"}, {"embed", "grn_celltype"}),
        ("train", {"device": "cpu"}, set(), {"train_variant"}),
        ("datasets.tiny", {"n_top_genes": 59}, {"preprocess", "split"}, {"simulate"}),
        ("downloads", {"retries": 2}, set(), {"simulate", "preprocess"}),
    ],
    ids=["embed.layer", "embed.device", "embed.pretrain_max_steps", "grn.threads", "grn.regulon_min_size",
         "train.genelink_epochs", "train.device", "datasets.n_top_genes", "downloads.retries"],
)
def test_a_config_change_reruns_only_the_jobs_that_read_it(finished_tiny_run, tmp_path, section, changes, reruns,
                                                           untouched):
    planned = planned_jobs(finished_tiny_run, tmp_path, section, changes)
    assert reruns <= set(planned), f"{section} {changes}: expected {reruns} among {planned}"
    assert not untouched & set(planned), f"{section} {changes}: {untouched & set(planned)} planned again"


def test_genelink_settings_rerun_only_the_genelink_jobs(finished_tiny_run, tmp_path):
    planned = planned_jobs(finished_tiny_run, tmp_path, "train", {"genelink_epochs": 3})
    assert planned["train_variant"] == 3  # one job per split protocol, all seeds in it
