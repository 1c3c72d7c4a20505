"""Write one benchmark's section of bench/RESULTS.md, with the command, machine and date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nEach section is rewritten by the script that produced it.\n"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def update_section(name: str, body: str, command: str | None = None, measured_on: str | None = None) -> None:
    """Replace (or append) the section `## name` of RESULTS.md; `measured_on` names the
    machine where the numbers were measured when it is not this one."""
    command = command or " ".join([Path(sys.executable).name, *sys.argv])
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"## {name}\n\n- command: `{command}`\n- machine: {measured_on or machine()}\n- date: {stamp}\n\n"
               f"{body.strip()}\n")
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")


def snakemake_job_benchmarks(benchmark_dir: Path, rules: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per Snakemake benchmark file `benchmark_dir/<rule>/<job>.tsv` (of `rules`, or all):
    rule, job (`rule/job`), s, cpu_s, mean_load, max_rss_mb."""
    rows = []
    for path in sorted(benchmark_dir.rglob("*.tsv")):
        rule = path.relative_to(benchmark_dir).parts[0]
        if rules is not None and rule not in rules:
            continue
        bench = pd.read_csv(path, sep="\t").iloc[0]
        rows.append({"rule": rule, "job": str(path.relative_to(benchmark_dir).with_suffix("")),
                     "s": float(bench["s"]), "cpu_s": float(bench["cpu_time"]),
                     "mean_load": float(bench["mean_load"]), "max_rss_mb": float(bench["max_rss"])})
    return pd.DataFrame(rows, columns=["rule", "job", "s", "cpu_s", "mean_load", "max_rss_mb"])
