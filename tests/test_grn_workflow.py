"""The grn stage inside the workflow: the tiny config's run produces every grn output."""

from __future__ import annotations

import anndata as ad
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlink import dataset

pytestmark = pytest.mark.slow


def test_tiny_run_has_the_grn_outputs(finished_tiny_run):
    results = finished_tiny_run / "results" / "tiny"
    rna, atac = dataset.load(results / "preprocessed.h5mu")
    tfs, genes = dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna)
    for cell_type in ("CT1", "CT2"):
        table = pd.read_csv(results / "grn" / "celltype" / f"{cell_type}.tsv", sep="\t", keep_default_na=False)
        assert list(table.columns[:5]) == ["TF", "target", "importance", "atac_support", "peaks"]
        assert set(table["TF"]) <= set(tfs) and set(table["target"]) <= set(genes)
    baseline = pd.read_csv(results / "grn" / "baseline_scores.tsv", sep="\t")
    assert list(baseline.columns) == ["TF", "Target", "pearson", "grnboost2"]
    assert len(baseline) == len(tfs) * len(genes) - len(tfs)
    assert baseline["pearson"].between(0, 1).all()
    cell_specific = ad.read_h5ad(results / "grn" / "cell_specific.h5ad")
    assert cell_specific.n_obs == rna.n_obs and {"TF", "target"} <= set(cell_specific.var.columns)
    assert sp.issparse(cell_specific.layers["aucell"]) and sp.issparse(cell_specific.layers["csn"])
    assert "versions" in cell_specific.uns["grnlink"]
    evaluation = pd.read_csv(results / "grn" / "evaluation.tsv", sep="\t")
    assert {"split", "cell_type"} <= set(evaluation["scope"])
    assert {"pearson", "grnboost2", "atac_supported"} <= set(evaluation["network"])
