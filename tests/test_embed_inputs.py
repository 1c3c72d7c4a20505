"""What the embedding model is given: checked checkpoints and dictionaries (failing before any
extraction, naming the file), Geneformer V1's shipped dictionaries as the `geneformer`
defaults, and the record of what the model saw of a dataset (with its warnings)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from transformers import BertConfig, BertForMaskedLM

from grnlink.embed.checkpoint import (
    GENE_MEDIAN_FILE, PRETRAINING_FILE, TOKEN_DICTIONARY_FILE, load_checkpoint, model_gene_keys, read_gene_mapping,
)
from grnlink.embed.extract import describe_inputs, gene_embeddings, ranked_values
from grnlink.embed.tokenizer import gene_columns, tokenize_cells
from grnlink.errors import InputError
from grnlink.report.embedding import write_embedding_report
from grnlink.settings import GENEFORMER_RESOURCES, EmbedSettings
from test_embed import MEDIANS, toy_rna, v2_tokens, write_checkpoint


def test_checkpoint_without_weights_fails_naming_the_folder(tmp_path):
    model_dir = write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS)
    (model_dir / "model.safetensors").unlink()
    with pytest.raises(InputError, match=f"{model_dir}: no model weights"):
        load_checkpoint(model_dir)


@pytest.mark.parametrize("bad, why", [
    ([("A", 4)], "non-empty dict"),
    ({"<pad>": 0, "<mask>": 1, "A": "4"}, "'A' -> '4'"),
    ({"<pad>": 0, "<mask>": 1, 7: 4}, "7 -> 4"),
    ({"<pad>": 0, "<mask>": 1, "A": 2.5}, "'A' -> 2.5"),
])
def test_token_dictionary_must_map_str_to_int(tmp_path, bad, why):
    model_dir = write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS)
    (model_dir / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps(bad))
    with pytest.raises(InputError, match=f"{model_dir / TOKEN_DICTIONARY_FILE}: token dictionary .*{why}"):
        load_checkpoint(model_dir)


def test_gene_medians_must_be_positive_numbers(tmp_path):
    model_dir = write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS)
    (model_dir / GENE_MEDIAN_FILE).write_bytes(pickle.dumps({**MEDIANS, "C": 0.0}))
    with pytest.raises(InputError, match=f"{model_dir / GENE_MEDIAN_FILE}: .*'C' -> 0.0"):
        load_checkpoint(model_dir)


def test_dictionary_larger_than_the_model_vocabulary_fails(tmp_path):
    tokens = v2_tokens()
    model_dir = write_checkpoint(tmp_path / "model", tokens, MEDIANS)
    bigger = {**tokens, "F": len(tokens)}  # one id past the model's vocab_size
    (model_dir / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps(bigger))
    with pytest.raises(InputError, match=f"{model_dir / TOKEN_DICTIONARY_FILE}: .*vocab_size {len(tokens)}"):
        load_checkpoint(model_dir)


def test_mapping_table_pickle_must_map_str_to_str(tmp_path):
    table = tmp_path / "map.pkl"
    table.write_bytes(pickle.dumps({"GATA1": 17}))
    with pytest.raises(InputError, match=f"{table}: gene mapping table .*'GATA1' -> 17"):
        read_gene_mapping(table)


def test_geneformer_backend_defaults_to_the_shipped_v1_dictionaries():
    files = EmbedSettings(backend="geneformer", checkpoint="/models/Geneformer").dictionary_files()
    assert files == {
        "token_dictionary": str(GENEFORMER_RESOURCES / "token_dictionary.pkl"),
        "gene_median_dictionary": str(GENEFORMER_RESOURCES / "gene_median_dictionary.pkl"),
        "mapping_table": str(GENEFORMER_RESOURCES / "gene_name_id_dict.pkl"),
    }
    own = EmbedSettings(backend="geneformer", checkpoint="/m", token_dictionary="/v2/token_dictionary_gc104M.pkl")
    assert own.dictionary_files()["token_dictionary"] == "/v2/token_dictionary_gc104M.pkl"
    assert EmbedSettings().dictionary_files() == {}  # the self-pretrained model carries its own


def test_shipped_dictionaries_pass_the_checks_and_map_human_symbols(tmp_path):
    config = BertConfig.from_json_file(GENEFORMER_RESOURCES / "geneformer-6L-30M_config.json")
    config.num_hidden_layers, config.hidden_size, config.intermediate_size = 1, 8, 8  # small weights, same vocabulary
    config.num_attention_heads = 2
    BertForMaskedLM(config).save_pretrained(tmp_path / "gf")
    files = EmbedSettings(backend="geneformer", checkpoint=str(tmp_path / "gf")).dictionary_files()
    checkpoint = load_checkpoint(tmp_path / "gf", files["token_dictionary"], files["gene_median_dictionary"])
    assert len(checkpoint.token_dictionary) == 25_426 and checkpoint.model_input_size == 2048
    mapping = read_gene_mapping(files["mapping_table"])
    assert mapping["GATA1"] in checkpoint.token_dictionary and mapping["GATA1"].startswith("ENSG")


def test_inputs_record_known_share_tokens_and_what_was_ranked(tmp_path):
    rna = toy_rna()  # genes A-E known, Z unknown; raw counts in layers["counts"]
    checkpoint = load_checkpoint(write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS))
    result = gene_embeddings(rna, checkpoint, layer=-2, batch_size=4, device="cpu", seed=0)
    inputs = result.uns["embed"]["inputs"]
    counts = rna.layers["counts"].toarray()
    assert inputs["ranked_on"] == "counts" and inputs["n_genes"] == 6 and inputs["n_known"] == 5
    assert inputs["known_share"] == pytest.approx(5 / 6) and inputs["mapped_share"] == 1.0
    assert inputs["tokens_per_cell"] == np.median((counts[:, :5] > 0).sum(axis=1))
    assert inputs["n_benchmark_genes"] == 5 and inputs["n_benchmark_known"] == 4
    # 83 % known: below 90 %, a warning with its cause
    assert len(result.uns["embed"]["warnings"]) == 1 and "only 83% of the 6 genes" in result.uns["embed"]["warnings"][0]


def test_ranking_on_log_values_of_benchmark_genes_only_warns_with_the_cause(tmp_path):
    rna = toy_rna()
    del rna.layers["counts"]
    rna = rna[:, rna.var["selected"].to_numpy()].copy()  # a GENELink-like object: benchmark genes, log values
    assert ranked_values(rna) == "log values"
    checkpoint = load_checkpoint(write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS))
    keys = model_gene_keys(list(rna.var_names), None)
    sequences = tokenize_cells(rna.X, gene_columns(keys, checkpoint.token_dictionary, MEDIANS),
                               checkpoint.token_dictionary, checkpoint.model_input_size)
    problems = describe_inputs(rna, keys, checkpoint, sequences).warnings()
    assert any("ranked on log values" in p and "only the 5 benchmark genes" in p for p in problems)
    rna.X = np.round(np.expm1(rna.X))
    assert ranked_values(rna) == "counts"


def test_report_table_shows_shares_warnings_and_the_pretraining_against_both_chances(tmp_path):
    rna = toy_rna()
    checkpoint = load_checkpoint(write_checkpoint(tmp_path / "model", v2_tokens(), MEDIANS))
    result = gene_embeddings(rna, checkpoint, layer=-2, batch_size=4, device="cpu", seed=0,
                             metadata={"model_name": "self-pretrained BERT, 3 layers x 16"})
    result.write_h5ad(tmp_path / "embeddings.h5ad")
    history = {"before": {"loss": 6.4, "accuracy": 0.002}, "after": {"loss": 5.1, "accuracy": 0.05},
               "uniform_chance": {"loss": 6.4, "accuracy": 0.0017}, "frequency_prior": {"loss": 5.9, "accuracy": 0.01},
               "beats_frequency_prior_by": 0.8, "held_out_cells": 150, "held_out_tokens": 9000,
               "stopped_by": "patience", "steps_run": 400, "best_step": 300}
    (tmp_path / "model" / PRETRAINING_FILE).write_text(json.dumps({"history": history}))
    table = write_embedding_report([tmp_path / "embeddings.h5ad"], ["toy"], tsv=tmp_path / "t.tsv",
                                   markdown=tmp_path / "t.md", model_dir=tmp_path / "model")
    assert table.loc["toy", "known to the model"] == "83.3%" and table.loc["toy", "ranked on"] == "counts"
    text = (tmp_path / "t.md").read_text()
    assert "- toy: only 83% of the 6 genes are known" in text
    assert "| after pretraining | 5.100 | 0.050 |" in text and "| gene-frequency prior | 5.900 | 0.010 |" in text
    assert "beats the gene-frequency prior by 0.800 nats" in text and "self-pretrained BERT, 3 layers x 16" in text
