"""Atomic outputs and input errors."""

from __future__ import annotations

import pandas as pd
import pytest

from grnlink.errors import InputError
from grnlink.io import atomic_path, read_table, write_table


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.tsv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("a\n")
    assert target.read_text() == "a\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.tsv"]


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_a_directory(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new"]


def test_read_table_names_file_and_missing_column(tmp_path):
    path = tmp_path / "t.tsv"
    write_table(pd.DataFrame({"TF": ["A"], "x": [1]}), path)
    assert read_table(path, required=["TF"]).shape == (1, 2)
    with pytest.raises(InputError, match=r"t\.tsv.*Target"):
        read_table(path, required=["TF", "Target"])


def test_input_error_names_line():
    err = InputError("data.csv", "bad value", line=7)
    assert str(err) == "data.csv, line 7: bad value"
