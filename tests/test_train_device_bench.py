"""bench/train_device_bench.py runs on the CPU at tiny size (2 epochs), so that it is ready
when a GPU is lent: every seed is trained, the repeated seed gives its numbers again, and
the summary puts degree's AUROC on the same splits beside each seed."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import train_device_bench  # noqa: E402


@pytest.fixture(scope="module")
def tiny_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    import torch

    threads = torch.get_num_threads()  # device_runs sets the process-wide count
    rows = train_device_bench.device_runs(["cpu"], ["scregnet"], [0, 1], 1, 2, 8)
    degree = train_device_bench.device_runs(["cpu"], ["degree"], [0, 1], 1, 2, 8)
    torch.set_num_threads(threads)
    return pd.DataFrame(rows), pd.DataFrame(degree)


def test_every_seed_trains_and_the_first_again_gives_the_same_numbers(tiny_rows):
    rows, _ = tiny_rows
    assert [(r.seed, r.repeat) for r in rows.itertuples()] == [(0, False), (1, False), (0, True)]
    assert (rows["epochs"] == 2).all() and (rows["seconds"] > 0).all()
    first, again = rows.iloc[0], rows.iloc[2]
    assert first["test_auroc"] == again["test_auroc"] and first["test_auroc_per_tf"] == again["test_auroc_per_tf"]
    assert rows.iloc[0]["test_auroc"] != rows.iloc[1]["test_auroc"]  # two splits, two models


def test_summary_sets_each_seed_beside_degree_on_the_same_split(tiny_rows):
    rows, degree = tiny_rows
    text = train_device_bench.summary(rows, degree[~degree["repeat"]])
    for seed in (0, 1):
        for metric in ("test_auroc", "test_auroc_per_tf"):
            value = degree.loc[(degree["seed"] == seed) & ~degree["repeat"], metric].item()
            assert f"{value:.4g}" in text
    assert "CPU, 1 thread(s) scregnet: yes" in text
