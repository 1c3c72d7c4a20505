"""bench/cost_bench.py plans a config's training jobs from its dry run and costs them with a
finished run's measured jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import cost_bench  # noqa: E402

TINY = ROOT / "tests" / "data" / "tiny.yaml"


@pytest.mark.slow
def test_the_tiny_plan_has_the_jobs_and_trainings_of_the_tiny_run(finished_tiny_run: Path):
    table = cost_bench.cost_case(cost_bench.Case("tiny", finished_tiny_run, TINY))
    metrics = sorted((finished_tiny_run / "results").glob("*/train/*/*/seed*/metrics.tsv"))
    rows = pd.concat([pd.read_csv(p, sep="\t") for p in metrics])
    assert table["jobs"].sum() == len({p.parents[1] for p in metrics})  # one job per variant folder, all seeds in it
    assert table["trainings"].sum() == len(rows)  # one metrics row per training, noise replicates included
    assert table.loc["degree", "trainings"] > table.loc["degree", "jobs"]  # its noise runs are counted
    assert (table["cpu_h"] > 0).all()


def test_dataset_sizes_scale_with_the_candidate_genes(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("datasets:\n  a: {source: geo, n_top_genes: 1000}\n  b: {source: genelink, path: x/TFs+500}\n"
                      "  c: {source: simulate}\n")
    factors = cost_bench.size_factors(config)
    assert factors["b"] == 1.0 and factors["c"] == 1.0
    assert factors["a"] == pytest.approx((448 + 1000) / 948)
