"""A failed job's log file holds the error that ended it, with its traceback: every workflow
script sets up its log before importing anything else, and the log catches the exception."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))


def test_an_uncaught_error_lands_in_the_log_with_its_traceback(tmp_path):
    log = tmp_path / "logs" / "job.log"
    script = tmp_path / "job.py"
    script.write_text(
        "from grnlink.logs import log_to\n"
        f"log_to({str(log)!r})\n"
        "from grnlink.errors import InputError\n"
        "def read():\n"
        "    raise InputError('data/Label.csv', 'TF index 9999 is not in Target.csv', line=3)\n"
        "read()\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    text = log.read_text()
    assert "ERROR" in text and "data/Label.csv, line 3: TF index 9999 is not in Target.csv" in text
    assert "Traceback (most recent call last)" in text and "in read" in text
    assert "InputError" in result.stderr  # the user's terminal still shows it


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_script_sets_up_its_log_before_other_imports(script):
    body = [node for node in ast.parse(script.read_text()).body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert [ast.unparse(node) for node in body[:2]] == ["from grnlink.logs import log_to", "log_to(snakemake.log[0])"]
