"""What a reader needs to reproduce the numbers: the run's configuration and versions."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from grnlink.io import atomic_path, write_table
from grnlink.reproducibility import package_versions


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, or the platform's processor string elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def versions_table() -> pd.DataFrame:
    """Package versions plus the platform and machine the report was made on."""
    rows = [("package", name, version) for name, version in package_versions().items()]
    rows += [
        ("machine", "platform", platform.platform()),
        ("machine", "cpu", cpu_model()),
        ("machine", "cores", str(os.cpu_count())),
    ]
    return pd.DataFrame(rows, columns=["kind", "name", "version"])


def write_run_info(config: Mapping[str, Any], versions: str | os.PathLike[str], config_out: str | os.PathLike[str]) -> None:
    """Write the versions table (TSV) and the run's resolved configuration (YAML)."""
    write_table(versions_table(), versions)
    with atomic_path(config_out) as tmp:
        Path(tmp).write_text(yaml.safe_dump(_plain(config), sort_keys=False))


def _plain(value: Any) -> Any:
    """Snakemake's config holds its own mapping types; YAML wants plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
