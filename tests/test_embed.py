"""The embed stage: tokenisation, checkpoint loading, pooled embeddings (pretraining: test_pretrain.py)."""

from __future__ import annotations

import pickle

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from snakemake.utils import validate
from snakemake_interface_common.exceptions import WorkflowError
from transformers import BertConfig, BertForMaskedLM

from conftest import ROOT
from grnlink.dataset import save

from grnlink.embed.checkpoint import (
    GENE_MEDIAN_FILE, TOKEN_DICTIONARY_FILE, load_checkpoint, model_gene_keys, read_gene_mapping,
)
from grnlink.embed.extract import embed_dataset, gene_embeddings, hidden_state_index, length_sorted_batches
from grnlink.embed.tokenizer import gene_columns, tokenize_cells
from grnlink.errors import InputError
from grnlink.settings import EmbedSettings

GENES = ["A", "B", "C", "D", "E"]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def write_checkpoint(path, token_dictionary, medians, input_size=16, layers=3, seed=0):
    """A random-initialised Geneformer-style checkpoint directory."""
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=max(token_dictionary.values()) + 1, hidden_size=16, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=input_size,
                        hidden_act="relu", pad_token_id=0)
    BertForMaskedLM(config).save_pretrained(path)
    (path / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps(token_dictionary))
    (path / GENE_MEDIAN_FILE).write_bytes(pickle.dumps(medians))
    return path


def v1_tokens():
    return {"<pad>": 0, "<mask>": 1, **{g: i + 2 for i, g in enumerate(GENES)}}


def v2_tokens():
    return {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, **{g: i + 4 for i, g in enumerate(GENES)}}


MEDIANS = {"A": 2.0, "B": 1.0, "C": 0.25, "D": 1.0, "E": 3.0}


def test_rank_value_tokenisation_of_a_hand_made_cell():
    # columns A B C D E X (X unknown to the model: counts towards the total, never a token)
    counts = np.array([[4, 0, 1, 2, 3, 10]], dtype=float)
    tokens = v1_tokens()
    columns = gene_columns(GENES + ["X"], tokens, MEDIANS)
    # count / median: A 2, B 0 (not expressed), C 4, D 2, E 1 -> C, then the A/D tie in column order, then E
    expected = [tokens[g] for g in ["C", "A", "D", "E"]]
    assert tokenize_cells(counts, columns, tokens, 16)[0].tolist() == expected
    assert tokenize_cells(counts, columns, tokens, 3)[0].tolist() == expected[:3]


def test_v2_sequences_are_framed_by_cls_and_eos_within_the_input_size():
    counts = sp.csr_matrix(np.array([[4, 0, 1, 2, 3], [0, 0, 0, 0, 0]], dtype=float))
    tokens = v2_tokens()
    columns = gene_columns(GENES, tokens, MEDIANS)
    full, empty = tokenize_cells(counts, columns, tokens, 16)
    assert full.tolist() == [2] + [tokens[g] for g in ["C", "A", "D", "E"]] + [3]
    assert empty.tolist() == [2, 3]
    short = tokenize_cells(counts, columns, tokens, 4)[0]
    assert short.tolist() == [2, tokens["C"], tokens["A"], 3]


def test_symbols_sharing_a_model_gene_are_summed_and_matched_case_insensitively(tmp_path):
    table = tmp_path / "map.tsv"
    table.write_text("symbol\tgene_id\nGata1\tENSG1\nGATA1-AS\tENSG1\nTal1\tENSG2\n")
    mapping = read_gene_mapping(table)
    keys = model_gene_keys(["GATA1", "gata1-as", "TAL1", "NOPE"], mapping)
    assert keys == ["ENSG1", "ENSG1", "ENSG2", None]
    tokens = {"<pad>": 0, "<mask>": 1, "ENSG1": 2, "ENSG2": 3}
    columns = gene_columns(keys, tokens, {"ENSG1": 1.0, "ENSG2": 1.0})
    # ENSG1 gets 1 + 2 = 3 counts and outranks ENSG2's 2.5 (the unmapped gene's 10 only counts in the total)
    cell = np.array([[1, 2, 2.5, 10]])
    assert tokenize_cells(cell, columns, tokens, 8)[0].tolist() == [2, 3]
    pickled = tmp_path / "map.pkl"
    pickled.write_bytes(pickle.dumps({"Tal1": "ENSG2"}))
    assert read_gene_mapping(pickled) == {"TAL1": "ENSG2"}


def toy_rna(n_cells=14, seed=0):
    rng = np.random.default_rng(seed)
    genes = GENES + ["Z"]  # Z: unknown to the model
    counts = rng.poisson(2.0, size=(n_cells, len(genes))).astype(np.float32)
    counts[0] = [0, 0, 3, 0, 0, 1]  # a cell where only C (of the benchmark genes) is expressed
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T1", "T2"] * (n_cells // 2))},
                       index=[f"cell{i}" for i in range(n_cells)])
    var = pd.DataFrame({"is_tf": [True, True, False, False, False, False],
                        "selected": [True, False, True, True, True, True]}, index=genes)
    rna = ad.AnnData(X=np.log1p(counts), obs=obs, var=var)
    rna.layers["counts"] = sp.csr_matrix(counts)
    return rna


def direct_embeddings(rna, model_dir, tokens, medians, hidden_index, input_size):
    """Per-cell HF forward passes (eager attention, no padding), pooled by hand."""
    model = BertForMaskedLM.from_pretrained(model_dir, attn_implementation="eager").eval()
    counts = rna.layers["counts"].toarray().astype(float)
    groups = {ct: [] for ct in rna.obs["cell_type"].cat.categories}
    per_gene = {g: {ct: [] for ct in groups} for g in rna.var_names}
    for row, ct in zip(counts, rna.obs["cell_type"]):
        scale = 1e4 / row.sum()  # same arithmetic as the library, so that ties break the same way
        value = {g: scale * row[j] * (1.0 / medians[g]) for j, g in enumerate(rna.var_names) if g in medians}
        ranked = sorted((g for g in value if value[g] > 0), key=lambda g: -value[g])[: input_size - 2]
        ids = [tokens["<cls>"]] + [tokens[g] for g in ranked] + [tokens["<eos>"]]
        with torch.no_grad():
            states = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[hidden_index][0]
        for position, g in enumerate(ranked, start=1):
            per_gene[g][ct].append(states[position].numpy())
    return per_gene


def test_pooled_embedding_equals_direct_computation(tmp_path):
    rna = toy_rna()
    tokens = v2_tokens()
    model_dir = write_checkpoint(tmp_path / "model", tokens, MEDIANS, input_size=6)  # truncates to 4 genes
    result = gene_embeddings(rna, load_checkpoint(model_dir), layer=-2, batch_size=3, device="cpu", seed=0)
    assert list(result.obs_names) == ["A", "C", "D", "E", "Z"]
    assert result.obs["known"].tolist() == [True, True, True, True, False]
    per_gene = direct_embeddings(rna, model_dir, tokens, MEDIANS, hidden_index=-2, input_size=6)
    for i, gene in enumerate(["A", "C", "D", "E"]):
        everywhere = per_gene[gene]["T1"] + per_gene[gene]["T2"]
        assert result.obs["n_cells"].iloc[i] == len(everywhere)
        np.testing.assert_allclose(result.X[i], np.mean(everywhere, axis=0), atol=1e-5)
        for ct in ("T1", "T2"):
            np.testing.assert_allclose(result.layers[ct][i], np.mean(per_gene[gene][ct], axis=0), atol=1e-5)
    assert not result.X[4].any() and not result.layers["T1"][4].any()
    assert result.uns["grnlink"]["seed"] == 0 and "torch" in result.uns["grnlink"]["versions"]


def test_layer_choice_follows_hidden_states_indexing(tmp_path):
    rna = toy_rna()
    tokens = v2_tokens()
    model_dir = write_checkpoint(tmp_path / "model", tokens, MEDIANS, input_size=8)
    final = gene_embeddings(rna, load_checkpoint(model_dir), layer=-1, batch_size=32, device="cpu", seed=0)
    first = gene_embeddings(rna, load_checkpoint(model_dir), layer=1, batch_size=32, device="cpu", seed=0)
    per_gene = direct_embeddings(rna, model_dir, tokens, MEDIANS, hidden_index=1, input_size=8)
    np.testing.assert_allclose(first.layers["T2"][1], np.mean(per_gene["C"]["T2"], axis=0), atol=1e-5)
    assert not np.allclose(final.X[:4], first.X[:4])
    assert hidden_state_index(-2, 3) == 2 and hidden_state_index(0, 3) == 0
    with pytest.raises(ValueError, match="out of range"):
        hidden_state_index(-5, 3)


def test_v1_checkpoint_without_special_tokens(tmp_path):
    rna = toy_rna()
    model_dir = write_checkpoint(tmp_path / "model", v1_tokens(), MEDIANS, input_size=16)
    checkpoint = load_checkpoint(model_dir)
    assert not checkpoint.special_tokens
    result = gene_embeddings(rna, checkpoint, layer=-2, batch_size=32, device="cpu", seed=0)
    assert result.obs["known"].sum() == 4 and np.abs(result.X[:4]).sum() > 0


@pytest.mark.parametrize("missing", [TOKEN_DICTIONARY_FILE, GENE_MEDIAN_FILE])
def test_missing_dictionary_fails_naming_the_file(tmp_path, missing):
    model_dir = write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS)
    (model_dir / missing).unlink()
    with pytest.raises(InputError, match=str(model_dir / missing)):
        load_checkpoint(model_dir)


def test_explicit_dictionary_paths_and_bad_checkpoints(tmp_path):
    model_dir = write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS)
    elsewhere = tmp_path / "dicts" / "median.pkl"
    elsewhere.parent.mkdir()
    (model_dir / GENE_MEDIAN_FILE).rename(elsewhere)
    assert load_checkpoint(model_dir, gene_median_dictionary=elsewhere).gene_medians == MEDIANS
    with pytest.raises(InputError, match="config.json"):
        load_checkpoint(tmp_path / "dicts")
    (model_dir / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps({"A": 2}))
    with pytest.raises(InputError, match="<pad>"):
        load_checkpoint(model_dir, gene_median_dictionary=elsewhere)


def test_length_sorted_batches_cover_every_cell_once():
    lengths = np.array([3, 9, 1, 9, 5])
    batches = length_sorted_batches(lengths, 2)
    assert [b.tolist() for b in batches] == [[1, 3], [4, 0], [2]]


def test_embed_dataset_with_a_geneformer_checkpoint_and_mapping_table(tmp_path):
    """The `embed` rule's library call: preprocessed file + checkpoint + symbol table -> h5ad."""
    rna = toy_rna()
    rna.var_names = ["Gata1", "Tal1", "Spi1", "Cebpa", "Klf1", "Nope"]
    rna.uns["network"] = pd.DataFrame({"Gene1": ["Gata1"], "Gene2": ["Klf1"], "cell_type": ["T1"]})
    preprocessed = tmp_path / "preprocessed.h5ad"
    save(rna, None, preprocessed)
    ensembl = {g: f"ENSG{i}" for i, g in enumerate(GENES)}
    model_dir = write_checkpoint(tmp_path / "gf", {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3,
                                                   **{ensembl[g]: i + 4 for i, g in enumerate(GENES)}},
                                 {ensembl[g]: m for g, m in MEDIANS.items()}, input_size=8)
    table = tmp_path / "symbols.tsv"
    table.write_text("symbol\tgene_id\n" + "".join(f"{s.upper()}\t{ensembl[g]}\n" for s, g in
                                                   zip(["Gata1", "Tal1", "Spi1", "Cebpa", "Klf1"], GENES)))
    out = tmp_path / "embed" / "embeddings.h5ad"
    section = EmbedSettings(backend="geneformer", checkpoint=str(model_dir), mapping_table=str(table), layer=-2,
                            batch_size=4, seed=3)
    embed_dataset(section.extraction(), preprocessed=preprocessed, model_dir=model_dir, output=out,
                  mapping_table=section.mapping_table, device="cpu")
    result = ad.read_h5ad(out)
    assert list(result.obs_names) == ["Gata1", "Spi1", "Cebpa", "Klf1", "Nope"]
    assert result.obs["known"].tolist() == [True, True, True, True, False]
    assert set(result.layers) == {"T1", "T2"} and result.X.shape == (5, 16)
    assert result.uns["grnlink"]["seed"] == 3 and result.uns["embed"]["backend"] == "geneformer"
    assert result.uns["embed"]["mapping_table"] == str(table)
    # the same cells under their model ids, no table: identical numbers
    rna.var_names = [ensembl.get(g, "Nope") for g in GENES] + ["Nope"]
    direct = gene_embeddings(rna, load_checkpoint(model_dir), layer=-2, batch_size=4, device="cpu", seed=0)
    np.testing.assert_allclose(result.X, direct.X, atol=1e-6)


def test_schema_requires_a_checkpoint_for_the_geneformer_backend():
    config = {"datasets": {"d": {"source": "genelink", "path": "x"}}, "embed": {"backend": "geneformer"}}
    with pytest.raises(WorkflowError, match="checkpoint"):
        validate(config, SCHEMA)
    section = {"pretrain_max_steps": 7}
    validate(section, str(ROOT / "workflow" / "schemas" / "embed.schema.yaml"))
    assert section["layer"] == -2 and section["backend"] == "pretrain" and section["pretrain_max_steps"] == 7
    assert EmbedSettings.from_config(section).pretraining().max_steps == 7
