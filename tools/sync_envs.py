"""Write envs/<stage>.yaml from the stage package lists below and the pins in constraints.txt.

Run after changing constraints.txt (`python tools/sync_envs.py`); tests/test_envs.py fails
when an env file and the lock disagree. Packages are installed with pip inside the conda
env so that the versions are exactly those CI installs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ["numpy", "scipy", "pandas", "anndata", "mudata", "h5py", "pyyaml", "tqdm", "setuptools"]
STAGES = {
    "download": ["pandas", "pyyaml", "tqdm"],
    "simulate": BASE + ["harissa", "scikit-learn"],
    "preprocess": BASE + ["scanpy", "muon", "scikit-learn", "statsmodels"],
    "grn": BASE + ["scanpy", "muon", "arboreto", "rustscenic", "pyscenic", "dask", "distributed", "scikit-learn", "joblib", "pyarrow", "moods-python"],
    "embed": BASE + ["torch", "transformers", "safetensors"],
    "train": BASE + ["torch", "torch-geometric", "scikit-learn", "optuna"],
    "report": BASE + ["matplotlib", "scikit-learn", "snakemake"],
}


def read_lock(path: Path = ROOT / "constraints.txt") -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def env_yaml(stage: str, packages: list[str], pins: dict[str, str]) -> str:
    lines = [
        f"# Environment of the {stage} stage; pins equal constraints.txt (tools/sync_envs.py).",
        "channels:",
        "  - conda-forge",
        "  - nodefaults",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={pins[name]}" for name in sorted(set(packages))]
    return "\n".join(lines) + "\n"


def main() -> None:
    pins = read_lock()
    for stage, packages in STAGES.items():
        (ROOT / "envs" / f"{stage}.yaml").write_text(env_yaml(stage, packages, pins))


if __name__ == "__main__":
    main()
