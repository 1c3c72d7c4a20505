"""Every stage's conda env pins exactly what CI installs (constraints.txt)."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT

import importlib.util

spec = importlib.util.spec_from_file_location("sync_envs", ROOT / "tools" / "sync_envs.py")
sync_envs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync_envs)

LOCK = sync_envs.read_lock()
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def pip_pins(env: dict) -> dict[str, str]:
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
                pins[name.lower().replace("_", "-")] = version
    return pins


def test_an_env_per_stage():
    assert {p.stem for p in ENV_FILES} == set(sync_envs.STAGES)


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_equal_the_lock(path):
    env = yaml.safe_load(path.read_text())
    assert "python=3.11" in env["dependencies"]
    pins = pip_pins(env)
    assert pins, f"{path.name} pins nothing"
    for name, version in pins.items():
        assert LOCK.get(name) == version, f"{path.name}: {name}=={version} but constraints.txt has {LOCK.get(name)}"


def test_lock_pins_pandas_2_3_and_torch_2_13():
    assert LOCK["pandas"].startswith("2.3.")
    assert LOCK["torch"] == "2.13.0"
    assert int(LOCK["setuptools"].split(".")[0]) < 81
