"""Dataset entries that name files which do not exist stop the workflow before it schedules
anything, naming the config key and the path (not Snakemake's MissingInputException)."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT, run_snakemake
from grnlink.settings import GenelinkDataset, SimulatedDataset, UserFileDataset
from grnlink.sources import missing_given_files

BEELINE_MDC = ROOT / "resources" / "beeline" / "mDC" / "TFs+500"


def user_entry(tmp_path, **keys) -> dict:
    """An h5mu entry whose network and TF list exist; `keys` replace or add keys."""
    for name in ("network.csv", "tfs.csv"):
        (tmp_path / name).write_text("x\n")
    return {"source": "h5mu", "path": str(BEELINE_MDC / "Label.csv"), "network": str(tmp_path / "network.csv"),
            "tfs": str(tmp_path / "tfs.csv"), "cell_types": ["a"], **keys}


def test_missing_given_files_name_the_config_key_and_the_path(tmp_path):
    missing_folder = str(tmp_path / "nowhere" / "TFs+500")
    partial = tmp_path / "partial"
    partial.mkdir()
    datasets = {
        "ok": GenelinkDataset(path=str(BEELINE_MDC)),
        "gone": GenelinkDataset(path=missing_folder),
        "partial": GenelinkDataset(path=str(partial)),
        "sim": SimulatedDataset(),
        "mine": UserFileDataset.from_config(user_entry(tmp_path, network=str(tmp_path / "net.csv"),
                                                       motif_hits=str(tmp_path / "hits.tsv"))),
    }
    assert missing_given_files(datasets) == [
        f"datasets.gone.path: {missing_folder} not found",
        f"datasets.partial.path: {partial / 'BL--ExpressionData.csv'} not found",
        f"datasets.mine.network: {tmp_path / 'net.csv'} not found",
        f"datasets.mine.motif_hits: {tmp_path / 'hits.tsv'} not found",
    ]


def test_motif_hits_of_an_h5ad_entry_are_not_required(tmp_path):
    entry = user_entry(tmp_path, source="h5ad", motif_hits=str(tmp_path / "hits.tsv"))
    assert missing_given_files({"mine": UserFileDataset.from_config(entry)}) == []


@pytest.mark.parametrize("key", ["path", "network", "tfs"])
def test_dry_run_stops_before_scheduling_naming_the_key(tmp_path, key):
    datasets = {"mDC": {"source": "genelink", "path": "resources/no_such_folder/TFs+500"}}
    if key != "path":
        datasets = {"mine": user_entry(tmp_path, source="h5ad", **{key: "missing/" + key + ".csv"})}
    expected = {"path": "datasets.mDC.path: resources/no_such_folder/TFs+500 not found",
                "network": "datasets.mine.network: missing/network.csv not found",
                "tfs": "datasets.mine.tfs: missing/tfs.csv not found"}[key]
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump({"datasets": datasets, "seeds": [0]}))
    proc = run_snakemake(tmp_path / "run", configfile, "-n", timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "WorkflowError" in output and f"missing input: {expected}" in output, output[-3000:]
    assert "MissingInputException" not in output and "Building DAG" not in output
