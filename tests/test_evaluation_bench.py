"""bench/evaluation_bench.py's comparison of two runs of the same splits (--minus): each
method minus itself in the other run, paired by split seed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import evaluation_bench  # noqa: E402

LABELS = {"degree": "Degree", "grnlink": "grnlink"}


def runs(shift: float) -> pd.DataFrame:
    """Three seeds of degree and grnlink; grnlink's scores are `shift` higher than a fixed base."""
    rows = []
    for seed in range(3):
        for variant in LABELS:
            base = 0.7 + 0.01 * seed + (0.1 if variant == "grnlink" else 0)
            value = base + (shift if variant == "grnlink" else 0)
            rows.append({"dataset": "d", "protocol": "genelink", "variant": variant, "seed": seed, "noise": 0.0,
                         "replicate": 0, "test_auroc": value, "test_auprc": value / 2, "test_auroc_per_tf": value})
    return pd.DataFrame(rows)


def test_each_method_minus_itself_in_the_other_run():
    table = evaluation_bench.minus_table(runs(0.02), runs(0.0), "genelink", LABELS).set_index("method")
    assert table.loc["grnlink", "AUROC"] == "+0.020 [+0.020, +0.020]"
    assert table.loc["grnlink", "AUPRC"] == "+0.010 [+0.010, +0.010]"
    assert table.loc["Degree", "AUROC"] == "+0.000 [+0.000, +0.000]"
    assert (table["seeds"] == 3).all()


def test_a_difference_that_varies_over_seeds_gets_an_interval_around_its_mean():
    this = runs(0.0)
    this.loc[this["variant"] == "grnlink", "test_auroc"] += np.array([0.01, 0.03, 0.05])
    table = evaluation_bench.minus_table(this, runs(0.0), "genelink", LABELS).set_index("method")
    mean, interval = table.loc["grnlink", "AUROC"].split(" ", 1)
    low, high = (float(x) for x in interval.strip("[]").split(", "))
    assert mean == "+0.030" and low < 0.03 < high and low > -0.03
