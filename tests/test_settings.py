"""grnlink.settings is the one place of every default: each schema key is a dataclass field
with the same default, settings travel to jobs as plain data and back, the module needs no
torch, and the library has no import circle."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import yaml

from grnlink import settings as S

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "workflow" / "schemas"
MISSING = dataclasses.MISSING


def schema(name: str) -> dict:
    return yaml.safe_load((SCHEMAS / f"{name}.schema.yaml").read_text())


def dataset_branch(source: str) -> dict:
    """The `then` branch of dataset.schema.yaml for `source` (the geo branch is its own file)."""
    for branch in schema("dataset")["allOf"]:
        condition = branch["if"]["properties"]["source"]
        if source == condition.get("const") or source in condition.get("enum", []):
            return schema("geo") if "$ref" in branch["then"] else branch["then"]
    raise AssertionError(f"dataset.schema.yaml has no branch for source {source!r}")


SECTIONS = [
    (schema("split"), S.SplitSettings),
    (schema("grn"), S.GrnSettings),
    (schema("embed"), S.EmbedSettings),
    (schema("train"), S.TrainSettings),
    (schema("report"), S.ReportSettings),
    (schema("download"), S.DownloadSettings),
    (schema("train")["properties"]["variants"]["items"], S.Variant),
    (dataset_branch("simulate"), S.SimulatedDataset),
    (dataset_branch("genelink"), S.GenelinkDataset),
    (dataset_branch("geo"), S.GeoDataset),
    (dataset_branch("geo")["properties"]["gene_table"], S.GeneTableColumns),
    (dataset_branch("h5ad"), S.UserFileDataset),
    (schema("download")["properties"]["files"]["additionalProperties"], S.RemoteFile),
]


def field_default(field: dataclasses.Field):
    if field.default is not MISSING:
        return field.default
    if field.default_factory is not MISSING:
        return field.default_factory()
    return MISSING


def schema_default(cls: type, name: str, prop: dict):
    """The schema's default (or constant) of a key, in the settings' types."""
    value = prop.get("default", prop.get("const", MISSING))
    if value is MISSING:
        return MISSING
    if cls is S.TrainSettings and name == "variants":
        return tuple(S.Variant.from_config(entry) for entry in value)
    if isinstance(value, dict) and name in S._nested_sections(cls):
        return S._nested_sections(cls)[name].from_config(value)
    return S._frozen(value)


@pytest.mark.parametrize("section_schema, cls", SECTIONS, ids=[cls.__name__ for _, cls in SECTIONS])
def test_every_schema_key_is_a_field_with_the_schema_default(section_schema, cls):
    properties = section_schema["properties"]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert sorted(properties) == sorted(fields), f"{cls.__name__}: schema keys and dataclass fields differ"
    required = set(section_schema.get("required", [])) | ({"source"} & set(properties))  # dataset.schema.yaml
    for name, prop in properties.items():
        expected, actual = schema_default(cls, name, prop), field_default(fields[name])
        if expected is MISSING:
            # a key without schema default is required, or optional with None
            assert actual is MISSING if name in required else actual is None, f"{cls.__name__}.{name}"
        else:
            assert actual == expected, f"{cls.__name__}.{name}: dataclass {actual!r}, schema {expected!r}"


def test_a_section_built_from_the_validated_empty_config_equals_the_defaults():
    from snakemake.utils import validate

    config = {"datasets": {"d": {"source": "simulate"}}}
    validate(config, str(SCHEMAS / "config.schema.yaml"))
    for section in ("split", "grn", "embed", "train", "report", "downloads"):
        validate(config[section], str(SCHEMAS / f"{ {'downloads': 'download'}.get(section, section)}.schema.yaml"))
    validate(config["datasets"]["d"], str(SCHEMAS / "dataset.schema.yaml"))
    assert S.Config.from_config(config) == S.Config(datasets={"d": S.SimulatedDataset()})


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(ValueError, match=r"grn: unknown key\(s\) \['max_tree'\]"):
        S.GrnSettings.from_config({"max_tree": 3})
    with pytest.raises(ValueError, match="unknown dataset source 'csv'"):
        S.dataset_settings({"source": "csv"})


NARROW = [
    S.GrnSettings(max_trees=7).celltype(),
    S.GrnSettings(regulon_min_size=2).cell_specific(),
    S.EmbedSettings(pretrain_max_steps=3).pretraining(),
    S.EmbedSettings(layer=1).extraction(),
    S.SimulatedDataset(n_cells=100).simulation(),
    S.SimulatedDataset().preprocessing(),
    S.DownloadSettings(retries=1).policy(),
    *(S.TrainSettings().variant_run(v.name, protocol=p) for v in S.DEFAULT_VARIANTS for p in S.SPLIT_PROTOCOLS),
]


@pytest.mark.parametrize("narrow", NARROW, ids=lambda n: type(n).__name__)
def test_narrow_settings_travel_as_plain_data_and_come_back_equal(narrow):
    params = S.to_params(narrow)
    assert yaml.safe_load(yaml.safe_dump(params)) == params  # builtins only: Snakemake compares them
    assert S.from_params(type(narrow), params) == narrow


def test_a_variant_run_carries_only_what_its_model_reads():
    train = S.TrainSettings(noise_levels=(2, 4), noise_replicates=3, hidden=8, genelink_epochs=5)
    degree = train.variant_run("degree", protocol="genelink")
    assert degree.model is None and degree.fit is None and degree.noise_levels == (2, 4)
    assert train.variant_run("degree", protocol="tf_holdout").noise_levels == ()
    assert train.variant_run("pearson", protocol="genelink").noise_replicates == 0
    genelink = train.variant_run("genelink", protocol="genelink")
    assert genelink.model is None and genelink.fit.epochs == genelink.fit.patience == 5
    assert genelink.fit.weight_decay == 0 and genelink.fit.edge_holdout == train.edge_holdout
    assert train.variant_run("scregnet", protocol="genelink").model.hidden == 8


def test_the_noise_study_runs_on_its_seeds_and_datasets_only():
    train = S.TrainSettings(noise_levels=(2,), noise_replicates=3, noise_seeds=(1,), noise_datasets=("a",))
    run = partial(train.variant_run, "scregnet", protocol="genelink")
    assert run(dataset="a", seed=1).noise_replicates == 3
    assert run(dataset="a", seed=0).noise_levels == () and run(dataset="b", seed=1).noise_levels == ()
    assert S.TrainSettings(noise_seeds=(1,)).variant_run("scregnet", protocol="genelink", dataset="b",
                                                          seed=1).noise_replicates == 10  # null: every dataset


def test_noise_study_settings_that_select_nothing_fail_naming_the_key():
    config = {"datasets": {"a": {"source": "simulate"}}, "seeds": [3, 4]}
    with pytest.raises(ValueError, match=r"train.noise_seeds \[0\]: none of them is one of seeds \[3, 4\]"):
        S.Config.from_config(config)
    assert S.Config.from_config({**config, "train": {"noise_levels": []}}).train.noise_levels == ()
    with pytest.raises(ValueError, match=r"train.noise_datasets: \['b'\] are not datasets"):
        S.Config.from_config({**config, "train": {"noise_seeds": [3], "noise_datasets": ["a", "b"]}})


def test_settings_import_without_torch_or_numpy():
    code = "import sys, grnlink.settings; print(sorted(m for m in ('torch', 'numpy', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def grnlink_imports() -> dict[str, set[str]]:
    """Each grnlink module and the grnlink modules it imports, at top level or in a function."""
    modules = {}
    for path in sorted((ROOT / "grnlink").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def test_no_module_imports_a_module_that_imports_it_back():
    graph = grnlink_imports()
    assert "grnlink.settings" in graph

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start] - seen:
            seen.add(nxt)
            if nxt == goal or reaches(nxt, goal, seen):
                return True
        return False

    circles = sorted(name for name in graph if reaches(name, name, set()))
    assert circles == [], f"modules on an import circle: {circles}"


def test_every_module_imports_alone():
    names = sorted(grnlink_imports())
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'grnlink' or m.startswith('grnlink.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
