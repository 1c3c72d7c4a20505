"""The dataset schema: per-source keys, defaults filled, a bad key named in the error."""

from __future__ import annotations

import pytest
from snakemake.utils import validate
from snakemake_interface_common.exceptions import WorkflowError

from conftest import ROOT
from grnlink.config import describe_validation_error
from grnlink.simulate import SimulationParams

DATASET = str(ROOT / "workflow" / "schemas" / "dataset.schema.yaml")
CONFIG = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def error_of(config: dict, schema: str = CONFIG) -> str:
    with pytest.raises(WorkflowError) as error:
        validate(config, schema)
    return describe_validation_error(error.value)


def test_simulate_defaults_match_the_simulator_and_fill_qc_keys():
    cfg = {"source": "simulate"}
    validate(cfg, DATASET)
    defaults = SimulationParams()
    for key in SimulationParams.__dataclass_fields__:
        assert cfg[key] == getattr(defaults, key), key
    assert cfg["n_top_genes"] == 500 and cfg["min_cells_per_gene"] >= 1


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
