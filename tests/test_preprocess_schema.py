"""The dataset schema: per-source keys, defaults filled, a bad key named in the error."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate
from snakemake_interface_common.exceptions import WorkflowError

from conftest import ROOT
from grnlink.config import describe_validation_error
from grnlink.settings import Preprocessing, SimulationParams

DATASET = str(ROOT / "workflow" / "schemas" / "dataset.schema.yaml")
CONFIG = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def error_of(config: dict, schema: str = CONFIG) -> str:
    with pytest.raises(WorkflowError) as error:
        validate(config, schema)
    return describe_validation_error(error.value)


def test_every_simulate_key_goes_to_the_simulator_or_to_preprocessing():
    """The simulate job gets the simulator's keys only: a QC key change does not rerun it."""
    branch = next(b["then"] for b in yaml.safe_load(Path(DATASET).read_text())["allOf"]
                  if b["if"]["properties"]["source"].get("const") == "simulate")
    simulator = {f.name for f in fields(SimulationParams)}
    preprocessing = {f.name for f in fields(Preprocessing)} - {"normalize"}  # always true for counts
    assert simulator.isdisjoint(preprocessing)
    assert simulator | preprocessing == set(branch["properties"]) - {"source"}


@pytest.mark.parametrize(
    "entry, key",
    [
        ({"source": "simulate", "n_cels": 10}, "n_cels"),
        ({"source": "simulate", "n_cells": 5}, "datasets.d.n_cells"),
        ({"source": "genelink"}, "path"),
        ({"source": "genelink", "path": "x", "n_top_genes": 500}, "n_top_genes"),
        ({"source": "h5ad", "path": "x.h5ad", "network": "n.csv", "tfs": "t.csv"}, "cell_types"),
        ({"source": "h5mu", "path": "x", "network": "n", "tfs": "t", "cell_types": []}, "datasets.d.cell_types"),
        ({"source": "tsv", "path": "x"}, "datasets.d.source"),
    ],
)
def test_bad_dataset_entry_names_the_key(entry, key):
    message = error_of({"datasets": {"d": entry}})
    assert key in message


def test_split_fractions_have_defaults():
    config = {"datasets": {"d": {"source": "genelink", "path": "x"}}}
    validate(config, CONFIG)
    split = dict(config["split"])
    validate(split, str(ROOT / "workflow" / "schemas" / "split.schema.yaml"))
    assert (split["train"], split["validation"], split["test"]) == (0.67, 0.10, 0.23)
