"""The config schema: defaults filled, unknown keys and bad values rejected with the key named."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from snakemake_interface_common.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import ROOT, run_snakemake
from grnlink.settings import Config

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", ["config/config.yaml", "config/beeline.yaml", "config/beeline_shipped.yaml",
                                  "tests/data/tiny.yaml"])
def test_shipped_configs_are_valid(name):
    if not (ROOT / name).exists():
        pytest.skip(f"{name} not present")
    validate(load(name), SCHEMA)


def yaml_blocks(name: str) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", (ROOT / name).read_text(), flags=re.M | re.S)


@pytest.mark.parametrize("name", ["README.md", "config/README.md"])
def test_every_yaml_example_of_the_docs_is_a_valid_config(name):
    blocks = yaml_blocks(name)
    assert blocks, f"{name} has no yaml example"
    for block in blocks:
        config = yaml.safe_load(block)
        try:
            validate(config, SCHEMA)
        except WorkflowError as error:
            raise AssertionError(f"{name}: this example is rejected by the schema:\n{block}") from error
        Config.from_config(config)


def test_defaults_are_filled_for_missing_sections():
    config = {"datasets": {"d": {"source": "genelink", "path": "x"}}}
    validate(config, SCHEMA)
    assert config["seeds"] == [0, 1, 2]
    for section in ("split", "grn", "embed", "train", "report"):
        assert isinstance(config[section], dict)


def test_misspelt_top_level_key_is_named():
    config = copy.deepcopy(load("config/config.yaml"))
    config["seedz"] = [0]
    with pytest.raises(WorkflowError, match="seedz"):
        validate(config, SCHEMA)


def test_negative_seed_is_rejected():
    config = copy.deepcopy(load("config/config.yaml"))
    config["seeds"] = [0, -1]
    with pytest.raises(WorkflowError, match="-1"):
        validate(config, SCHEMA)


def test_wrong_type_is_rejected():
    config = copy.deepcopy(load("config/config.yaml"))
    config["seeds"] = "three"
    with pytest.raises(WorkflowError, match="three"):
        validate(config, SCHEMA)


def dry_run_of_tiny(tmp_path, **changes):
    """`snakemake -n` of tests/data/tiny.yaml with top-level keys replaced; its output."""
    config = copy.deepcopy(load("tests/data/tiny.yaml")) | changes
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    proc = run_snakemake(tmp_path, bad, "-n", timeout=60)
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


def test_cli_rejects_misspelt_key_before_scheduling(tmp_path):
    output = dry_run_of_tiny(tmp_path, sedes=[1])
    assert "sedes" in output
    assert "Building DAG" not in output


def test_cli_names_nested_key_of_negative_value(tmp_path):
    output = dry_run_of_tiny(tmp_path, seeds=[-2])
    assert "invalid config: key 'seeds.0': -2 is less than the minimum of 0" in output


def test_cli_rejects_an_unknown_split_protocol_before_scheduling(tmp_path):
    output = dry_run_of_tiny(tmp_path, split={"protocols": ["genelink", "target_holdout"]})
    assert "invalid config: key 'split.protocols.1': 'target_holdout' is not one of" in output


def test_cli_rejects_a_holdout_without_enough_tfs_for_its_folds(tmp_path):
    """tiny has 10 TFs: 11 folds leave a fold without a test TF."""
    output = dry_run_of_tiny(tmp_path, split={"protocols": ["tf_holdout"], "holdout_folds": 11})
    assert ("invalid config: key 'split.protocols': tf_holdout on dataset tiny: 10 to hold out in 11 folds"
            in output), output[-2000:]
    assert "datasets.tiny.n_tfs" in output and "Building DAG" not in output
