"""Preprocessing is reproducible to the byte: two runs on the same raw data give the same
arrays in every slot of the preprocessed MuData, the ATAC LSI included."""

from __future__ import annotations

import anndata as ad
import numpy as np
import scipy.sparse as sp

from grnlink import dataset
from grnlink.preprocess import preprocess_dataset
from grnlink.settings import SimulatedDataset
from grnlink.simulate import simulate, write_raw
from grnlink.singlecell import lsi

SIM = SimulatedDataset(n_cells=400, n_cell_types=2, n_tfs=10, n_genes=80, n_peaks=800, seed=4, n_top_genes=40)


def arrays(modality: ad.AnnData) -> dict[str, np.ndarray]:
    """Every array slot of a modality, dense."""
    slots = {"X": modality.X, **{f"layers/{k}": v for k, v in modality.layers.items()},
             **{f"obsm/{k}": v for k, v in modality.obsm.items()}, **{f"varm/{k}": v for k, v in modality.varm.items()}}
    return {name: value.toarray() if sp.issparse(value) else np.asarray(value) for name, value in slots.items()}


def test_two_preprocessing_runs_write_the_same_arrays(tmp_path):
    raw = tmp_path / "raw"
    write_raw(simulate(SIM.simulation()), SIM.simulation(), raw)
    runs = []
    for name in ("first", "second"):
        out = tmp_path / f"{name}.h5mu"
        preprocess_dataset("sim", SIM, inputs={"raw": str(raw)}, output=out)
        runs.append(dataset.load(out))
    (rna_a, atac_a), (rna_b, atac_b) = runs
    assert "X_lsi" in atac_a.obsm
    for first, second in ((rna_a, rna_b), (atac_a, atac_b)):
        a, b = arrays(first), arrays(second)
        assert a.keys() == b.keys()
        for slot in a:
            np.testing.assert_array_equal(a[slot], b[slot], err_msg=slot)


def test_lsi_spans_the_leading_singular_subspace_with_fixed_signs():
    rng = np.random.default_rng(0)
    x = sp.csr_matrix(rng.poisson(0.3, size=(60, 40)).astype(np.float32))
    atac = ad.AnnData(X=x)
    lsi(atac, n_components=5)
    _, values, vt = np.linalg.svd(x.toarray(), full_matrices=False)
    np.testing.assert_allclose(atac.uns["lsi"]["stdev"], values[:5] / np.sqrt(59), rtol=1e-6)
    loadings = atac.varm["LSI"]
    np.testing.assert_allclose(np.abs(loadings.T @ vt[:5].T), np.eye(5), atol=1e-6)
    assert (loadings[np.abs(loadings).argmax(axis=0), np.arange(5)] > 0).all()
    np.testing.assert_allclose(atac.obsm["X_lsi"].mean(axis=0), 0, atol=1e-9)
