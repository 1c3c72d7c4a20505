"""The workflow's own hygiene: lint, formatting, and the directives every rule must have."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BIN = Path(sys.executable).parent
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
STAGES = ["download", "simulate", "preprocess", "grn", "embed", "train", "report"]


def rule_blocks(path: Path) -> dict[str, str]:
    """Rule name -> its text, for every `rule name:` in a rule file."""
    text = path.read_text()
    starts = [(m.group(1), m.start()) for m in re.finditer(r"^rule (\w+):", text, re.M)]
    ends = [start for _, start in starts[1:]] + [len(text)]
    return {name: text[start:end] for (name, start), end in zip(starts, ends)}


ALL_RULES = {name: (path, block) for path in RULE_FILES for name, block in rule_blocks(path).items()}


def test_one_rule_file_per_stage():
    assert {p.stem for p in RULE_FILES} >= set(STAGES) | {"common"}


@pytest.mark.parametrize("rule", sorted(ALL_RULES))
def test_rule_has_log_benchmark_conda_and_script(rule):
    path, block = ALL_RULES[rule]
    for directive in ("log:", "benchmark:", "conda:", "script:"):
        assert f"\n    {directive}" in block, f"rule {rule} in {path.name} lacks {directive}"
    env = re.search(r'conda:\s*\n?\s*"([^"]+)"', block).group(1)
    assert (path.parent / env).resolve().is_file(), f"rule {rule}: env file {env} missing"


def test_snakemake_lint_is_clean():
    proc = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr, proc.stdout


def test_snakefmt_check_passes():
    files = [str(ROOT / "Snakefile"), *map(str, RULE_FILES)]
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_of_the_demo_fits_a_screen_or_two(tmp_path):
    # a fresh directory: after `make demo` the checkout's results are up to date and plan nothing
    proc = subprocess.run([str(BIN / "snakemake"), "-n", "--directory", str(tmp_path), "--configfile",
                           str(ROOT / "config" / "config.yaml")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    for rule in ("simulate", "preprocess", "split", "train_variant", "report_tables"):
        assert re.search(rf"^{rule}\s+\d+$", output, re.M), output
    assert "Shell command" not in output
    assert len(output.splitlines()) <= 100, output
