"""The embed rules end to end on the tiny config: pretrain once, embed per dataset."""

from __future__ import annotations

import json

import anndata as ad
import pytest

from grnlink.dataset import benchmark_genes, load
from grnlink.embed.checkpoint import load_checkpoint


@pytest.mark.slow
def test_tiny_pretrain_and_embed(finished_tiny_run):
    tmp_path = finished_tiny_run
    target = "results/tiny/embed/embeddings.h5ad"
    rna, _ = load(tmp_path / "results" / "tiny" / "preprocessed.h5mu")
    result = ad.read_h5ad(tmp_path / target)
    assert list(result.obs_names) == benchmark_genes(rna)
    assert set(result.layers) == set(rna.obs["cell_type"].cat.categories)
    assert result.obs["known"].all() and (result.obs["n_cells"] > 0).all()
    assert result.X.shape[1] == 32  # tests/data/tiny.yaml: pretrain_hidden_size

    model_dir = tmp_path / "results" / "embed" / "model"
    checkpoint = load_checkpoint(model_dir)
    assert set(rna.var_names) <= set(checkpoint.token_dictionary)
    history = json.loads((model_dir / "pretraining.json").read_text())
    assert history["seed"] == 0 and history["history"]["steps_run"] == len(history["history"]["train_loss"]) == 20
    assert [e["step"] for e in history["history"]["evaluations"]] == [10, 20]  # tests/data/tiny.yaml
    assert (tmp_path / "benchmarks" / "pretrain" / "pretrain.tsv").exists()
    assert (tmp_path / "logs" / "embed" / "tiny.log").read_text().strip()
