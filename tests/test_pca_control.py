"""The PCA control (`embedding: pca`): a trivial gene embedding of the foundation model's
width, its variant, and its place in the report's ablation."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnlink.dataset import save
from grnlink.embed.pca import pca_control, pca_gene_embeddings
from grnlink.report.variants import variant_roles
from grnlink.settings import EmbedSettings, TrainSettings, Variant


def structured_rna(n_cells=80, n_genes=40, seed=0):
    """Two gene programmes over cells plus noise; every other gene a benchmark gene."""
    rng = np.random.default_rng(seed)
    programmes = rng.normal(size=(n_cells, 2)) @ rng.normal(size=(2, n_genes))
    x = (programmes + 0.3 * rng.normal(size=(n_cells, n_genes))).astype(np.float32)
    genes = [f"g{i}" for i in range(n_genes)]
    var = pd.DataFrame({"is_tf": [i < 5 for i in range(n_genes)], "selected": [i % 2 == 0 for i in range(n_genes)]},
                       index=genes)
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T"] * n_cells)}, index=[f"c{i}" for i in range(n_cells)])
    return ad.AnnData(X=x, obs=obs, var=var)


def test_loadings_are_each_genes_correlation_with_the_components():
    rna = structured_rna()
    result = pca_gene_embeddings(rna, width=3, seed=0)
    benchmark = rna.var_names[rna.var["selected"]]
    assert list(result.obs_names) == list(benchmark) and result.X.shape == (20, 3)
    z = (rna.X - rna.X.mean(axis=0)) / rna.X.std(axis=0, ddof=1)
    u, s, vt = np.linalg.svd(z.astype(np.float64), full_matrices=False)
    scores = u[:, :3] * s[:3]
    for k in range(3):
        correlation = [np.corrcoef(z[:, rna.var_names.get_loc(g)], scores[:, k])[0, 1] for g in benchmark]
        np.testing.assert_allclose(np.abs(result.X[:, k]), np.abs(correlation), atol=1e-4)
    assert result.uns["embed"]["variance_explained"] > 0.8  # two programmes dominate


def test_same_seed_same_embedding_and_width_beyond_the_rank_is_zero_padded():
    rna = structured_rna(n_cells=6)
    first = pca_gene_embeddings(rna, width=8, seed=4)
    np.testing.assert_array_equal(first.X, pca_gene_embeddings(rna, width=8, seed=4).X)
    assert first.uns["embed"]["n_components"] == 5 and not first.X[:, 5:].any() and first.X[:, :5].any()


def test_constant_genes_get_zero_vectors_and_are_marked_unknown():
    rna = structured_rna()
    rna.X[:, 2] = 1.0
    result = pca_gene_embeddings(rna, width=4, seed=0)
    assert not result.obs.loc["g2", "known"] and not result.X[1].any() and result.obs["known"].sum() == 19


def test_the_rule_matches_the_foundation_models_width(tmp_path):
    rna = structured_rna()
    rna.uns["network"] = pd.DataFrame({"Gene1": ["g0"], "Gene2": ["g2"], "cell_type": ["T"]})
    save(rna, None, tmp_path / "preprocessed.h5ad")
    fm = ad.AnnData(X=np.zeros((20, 7), dtype=np.float32), obs=pd.DataFrame(index=rna.var_names[::2]))
    fm.write_h5ad(tmp_path / "embeddings.h5ad")
    pca_control(EmbedSettings(seed=2).pca_control(), preprocessed=tmp_path / "preprocessed.h5ad",
                fm_embeddings=tmp_path / "embeddings.h5ad", output=tmp_path / "pca.h5ad")
    result = ad.read_h5ad(tmp_path / "pca.h5ad")
    assert result.X.shape == (20, 7) and result.uns["grnlink"]["seed"] == 2


def test_variant_embedding_kinds_and_labels():
    fm, pca, none = Variant("a"), Variant("b", embedding="pca"), Variant("c", embedding=False)
    assert [v.embedding_kind for v in (fm, pca, none)] == ["fm", "pca", None]
    assert fm.uses_embedding and pca.uses_embedding and not none.uses_embedding
    assert pca.label == "scRegNet, PCA embedding (control)"
    with pytest.raises(ValueError, match="true, false or 'pca'"):
        Variant("d", embedding="geneformer")
    assert TrainSettings().variant("scregnet_pca").embedding_kind == "pca"


def test_ablation_shows_the_foundation_model_the_control_and_none_with_the_models_name():
    variants = [Variant("degree", model="degree"), Variant("scregnet"), Variant("scregnet_pca", embedding="pca"),
                Variant("scregnet_no_embedding", embedding=False)]
    roles = variant_roles(variants, embedding_model="self-pretrained BERT, 3 layers x 64")
    assert roles.full_model == "scregnet"
    assert roles.ablations == ["scregnet", "scregnet_pca", "scregnet_no_embedding"]
    assert roles.labels["scregnet"] == "scRegNet (self-pretrained BERT, 3 layers x 64)"
    assert EmbedSettings(pretrain_num_layers=2, pretrain_hidden_size=32).model_name() == "self-pretrained BERT, 2 layers x 32"
    assert EmbedSettings(backend="geneformer", checkpoint="/m/gf-6L-30M").model_name() == "Geneformer checkpoint gf-6L-30M"
