"""GRNBoost2 on a dask cluster (`grn.scheduler_address`) gives the local run's network.

The test starts a dask scheduler with two worker processes on 127.0.0.1, as a user would
start one on a cluster's nodes, and compares with the same seed run in this process.
"""

from __future__ import annotations

from typing import NamedTuple

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from grnlink.grn.celltype import celltype_grn
from grnlink.grn.grnboost import infer_links
from grnlink.settings import GrnSettings

N_CELLS, N_TFS, N_TARGETS = 160, 4, 10


class BatchCounter(SchedulerPlugin):
    """Counts the GRNBoost2 batches (`infer_batch` tasks) the scheduler saw computed."""

    def __init__(self) -> None:
        self.computed = 0

    def transition(self, key, start, finish, *args, **kwargs) -> None:
        if finish == "memory" and str(key).startswith("infer_batch"):
            self.computed += 1


class DaskCluster(NamedTuple):
    address: str
    batches: BatchCounter


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local_cluster:
        counter = BatchCounter()
        local_cluster.scheduler.add_plugin(counter)
        yield DaskCluster(local_cluster.scheduler_address, counter)


@pytest.fixture(scope="module")
def regulated_expression() -> tuple[np.ndarray, list[str], list[str]]:
    """Cells x genes: TFs drawn at random, each target a noisy mix of two TFs."""
    rng = np.random.default_rng(11)
    tfs = rng.gamma(2.0, 1.0, size=(N_CELLS, N_TFS))
    weights = np.zeros((N_TFS, N_TARGETS))
    for j in range(N_TARGETS):
        weights[rng.choice(N_TFS, 2, replace=False), j] = rng.uniform(0.5, 2.0, 2)
    targets = tfs @ weights + rng.normal(0, 0.3, size=(N_CELLS, N_TARGETS))
    genes = [f"TF{i}" for i in range(N_TFS)] + [f"G{j}" for j in range(N_TARGETS)]
    return np.hstack([tfs, targets]).astype(np.float32), genes, genes[:N_TFS]


def test_scheduler_address_gives_the_local_network(cluster, regulated_expression):
    expression, genes, tfs = regulated_expression
    settings = GrnSettings(seed=5, max_trees=120, backend="arboreto").boosting()
    local = infer_links(expression, genes, tfs, genes, settings, n_jobs=1)
    before = cluster.batches.computed
    on_dask = infer_links(expression, genes, tfs, genes, settings, scheduler_address=cluster.address)
    assert cluster.batches.computed > before
    assert len(local) > N_TARGETS
    pd.testing.assert_frame_equal(on_dask, local)


def test_celltype_grn_runs_on_the_configured_scheduler(cluster, regulated_expression):
    expression, genes, tfs = regulated_expression
    rna = ad.AnnData(
        X=expression,
        obs=pd.DataFrame({"cell_type": pd.Categorical(["A"] * N_CELLS)}, index=[f"c{i}" for i in range(N_CELLS)]),
        var=pd.DataFrame({"is_tf": [g in tfs for g in genes], "selected": True}, index=genes),
    )
    settings = GrnSettings(seed=2, max_trees=120, backend="arboreto").celltype()
    local = celltype_grn(rna, None, "A", settings, "memory.h5ad")
    before = cluster.batches.computed
    on_dask = celltype_grn(rna, None, "A", settings, "memory.h5ad", scheduler_address=cluster.address)
    assert cluster.batches.computed > before
    assert (local["importance"] > 0).any()
    pd.testing.assert_frame_equal(on_dask, local)


def test_a_different_seed_changes_the_network(regulated_expression):
    """Guards the comparison above: equality must come from the seed, not from insensitivity."""
    expression, genes, tfs = regulated_expression
    first = infer_links(expression, genes, tfs, genes, GrnSettings(seed=5, max_trees=120, backend="arboreto").boosting())
    second = infer_links(expression, genes, tfs, genes, GrnSettings(seed=6, max_trees=120, backend="arboreto").boosting())
    assert not first["importance"].equals(second["importance"])
