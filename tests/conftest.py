"""Shared fixtures. `ROOT` is the repository; `snakemake_cmd` runs the workflow elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def run_snakemake(workdir: Path, configfile: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run this repository's workflow in `workdir` with `configfile`; return the process."""
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def finished_tiny_run(tmp_path_factory) -> Path:
    """The whole pipeline run once on tests/data/tiny.yaml; its working directory."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    result = run_snakemake(workdir, ROOT / "tests" / "data" / "tiny.yaml", "--cores", "2")
    if result.returncode != 0:
        pytest.fail(f"the tiny pipeline run failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return workdir


@pytest.fixture
def one_torch_thread():
    """Small graphs train fastest on one thread (and the pipeline's jobs use one)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
