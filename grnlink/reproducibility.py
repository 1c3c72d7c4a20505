"""Seeds and package versions recorded with every result."""

from __future__ import annotations

import importlib.metadata
import platform
import random

import numpy as np

RECORDED_PACKAGES = (
    "grnlink", "numpy", "scipy", "pandas", "scikit-learn", "torch", "torch-geometric", "anndata",
    "scanpy", "muon", "mudata", "arboreto", "pyscenic", "transformers", "harissa", "snakemake",
)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (deterministic algorithms on); return a NumPy generator."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers, plus Python's."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
