"""The self-pretraining: dictionaries, masking, early stopping and the held-out references."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertForMaskedLM

from grnlink.embed.checkpoint import load_checkpoint
from grnlink.embed.extract import gene_embeddings
from grnlink.embed.pretrain import (
    build_token_dictionary, gene_frequency_prior, held_out_batches, mask_tokens, masked_token_scores, nonzero_medians,
    pretrain_checkpoint, pretrain_model, split_held_out, uniform_chance,
)
from grnlink.settings import EmbedSettings
from test_embed import toy_rna

GENES = [f"g{i:02d}" for i in range(20)]
TINY_MODEL = dict(pretrain_num_layers=1, pretrain_hidden_size=16, pretrain_num_heads=2, pretrain_intermediate_size=32,
                  pretrain_max_length=24, pretrain_batch_size=16, pretrain_validation_fraction=0.2,
                  pretrain_learning_rate=0.01)


def cell(genes: np.ndarray) -> np.ndarray:
    """`<cls>` gene tokens `<eos>` for gene indices into GENES."""
    return np.concatenate([[2], np.asarray(genes) + 4, [3]]).astype(np.int64)


def two_programme_cells(n_cells: int, seed: int) -> list[np.ndarray]:
    """Cells of two kinds, each expressing a random subset of its own half of the genes: the
    context tells the kind, and so which half a masked gene comes from, which gene frequencies cannot."""
    rng = np.random.default_rng(seed)
    half = len(GENES) // 2
    return [cell(kind * half + rng.permutation(half)[: rng.integers(half // 2, half)])
            for kind in rng.integers(0, 2, n_cells)]


def unstructured_cells(n_cells: int, seed: int) -> list[np.ndarray]:
    """Random sets of genes with unequal frequencies and nothing else to learn."""
    rng = np.random.default_rng(seed)
    weights = np.linspace(1, 10, len(GENES))
    return [cell(rng.choice(len(GENES), size=rng.integers(4, 12), replace=False, p=weights / weights.sum()))
            for _ in range(n_cells)]


def tiny_settings(**changes):
    return EmbedSettings(**{**TINY_MODEL, **changes}).pretraining()


def test_gene_medians_are_nonzero_medians_of_normalised_counts():
    counts = np.array([[1, 3, 0], [2, 0, 2], [0, 0, 4]], dtype=np.float32)
    rna = ad.AnnData(X=counts, var=pd.DataFrame(index=["g1", "g2", "g3"]))
    medians = nonzero_medians([rna, rna[:1].copy()])
    # normalised rows: [2500, 7500, 0], [5000, 0, 5000], [0, 0, 10000]; second object adds row 1 again
    assert medians == pytest.approx({"g1": 2500.0, "g2": 7500.0, "g3": 7500.0})
    assert build_token_dictionary(["g2", "g1"]) == {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, "g1": 4, "g2": 5}


def test_pretraining_is_reproducible_and_readable_by_the_embedding_path(tmp_path):
    rna = toy_rna(n_cells=24)
    settings = EmbedSettings(pretrain_num_layers=2, pretrain_hidden_size=16, pretrain_num_heads=2,
                             pretrain_intermediate_size=32, pretrain_max_length=8, pretrain_max_steps=4,
                             pretrain_eval_every=2, pretrain_batch_size=4, seed=5).pretraining()
    assert (settings.num_layers, settings.max_length, settings.max_steps, settings.seed) == (2, 8, 4, 5)
    runs = {}
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        out = tmp_path / name
        pretrain_checkpoint([rna], out, replace(settings, seed=seed), device="cpu")
        checkpoint = load_checkpoint(out)
        weights = BertForMaskedLM.from_pretrained(out).state_dict()
        history = json.loads((out / "pretraining.json").read_text())["history"]
        del history["seconds"]
        runs[name] = (weights, gene_embeddings(rna, checkpoint, layer=-2, batch_size=32, device="cpu", seed=seed),
                      history)
    (weights_a, emb_a, history_a), (weights_b, emb_b, history_b), (_, emb_c, history_c) = runs.values()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    assert history_a == history_b and history_a != history_c
    assert [e["step"] for e in history_a["evaluations"]] == [2, 4]
    np.testing.assert_array_equal(emb_a.X, emb_b.X)
    np.testing.assert_array_equal(emb_a.layers["T1"], emb_b.layers["T1"])
    assert not np.array_equal(emb_a.X, emb_c.X)
    checkpoint = load_checkpoint(tmp_path / "a")
    assert checkpoint.special_tokens and checkpoint.model_input_size == 8 and checkpoint.num_layers == 2
    assert set(checkpoint.token_dictionary) == {"<pad>", "<mask>", "<cls>", "<eos>", *rna.var_names}
    assert emb_a.obs["known"].all() and emb_a.X.shape == (5, 16)


def test_masking_follows_geneformer_and_spares_special_tokens():
    ids = torch.randint(4, 100, (64, 200))
    ids[:, 0], ids[:, -1], ids[:, -20:-1] = 2, 3, 0  # <cls>, <eos>, padding
    inputs, labels = mask_tokens(ids, ids >= 4, 0.15, 1, 4, 100, torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert torch.equal(labels[chosen], ids[chosen]) and not chosen[ids < 4].any()
    assert chosen.sum() / (ids >= 4).sum() == pytest.approx(0.15, abs=0.01)
    assert (inputs[chosen] == 1).float().mean() == pytest.approx(0.8, abs=0.03)
    assert torch.equal(inputs[~chosen], ids[~chosen])


def test_held_out_tokens_are_all_shown_as_mask():
    token_dictionary = build_token_dictionary(GENES)
    batches = held_out_batches(unstructured_cells(40, seed=0), token_dictionary, tiny_settings(), torch.device("cpu"))
    chosen = torch.cat([(b.labels != -100).flatten() for b in batches])
    inputs = torch.cat([b.inputs.flatten() for b in batches])
    assert chosen.any() and (inputs[chosen] == token_dictionary["<mask>"]).all()


def test_reference_levels_on_a_hand_made_example():
    # gene tokens 4..7; training counts 4: 3, 5: 1, 6: 1, 7: 0, plus one each -> 4, 2, 2, 1 of 9
    training = [np.array([2, 4, 4, 5, 3]), np.array([2, 4, 6, 3])]
    prior = gene_frequency_prior(training, np.array([4, 7, 5]), vocab_size=8)
    assert prior["loss"] == pytest.approx(-(math.log(4 / 9) + math.log(1 / 9) + math.log(2 / 9)) / 3)
    assert prior["accuracy"] == pytest.approx(1 / 3)  # gene 4 is the most frequent; one label of three
    assert uniform_chance(4) == pytest.approx({"loss": math.log(4), "accuracy": 0.25})


def test_training_stops_when_the_held_out_loss_stops_improving_and_keeps_the_best_weights():
    cells = unstructured_cells(200, seed=0)
    token_dictionary = build_token_dictionary(GENES)
    settings = tiny_settings(pretrain_max_steps=300, pretrain_eval_every=5, pretrain_patience=3)
    model, history = pretrain_model(cells, token_dictionary, settings, torch.device("cpu"))
    losses = {e["step"]: e["loss"] for e in history["evaluations"]}
    assert history["stopped_by"] == "patience" and history["steps_run"] < settings.max_steps
    assert history["best_step"] == min(losses, key=losses.get) > 0
    assert history["steps_run"] == history["best_step"] + settings.patience * settings.eval_every
    assert len(history["train_loss"]) == history["steps_run"]
    assert losses[history["steps_run"]] > losses[history["best_step"]]  # the last weights are not the ones kept
    held_out = split_held_out(cells, settings.validation_fraction, settings.seed)[1]
    scores = masked_token_scores(model, held_out_batches(held_out, token_dictionary, settings, torch.device("cpu")))
    assert scores["loss"] == pytest.approx(losses[history["best_step"]], abs=1e-6)
    assert history["after"] == pytest.approx(scores, abs=1e-6)
    assert history["held_out_cells"] == 40 and history["training_cells"] == 160


def test_a_tiny_pretraining_learns_what_gene_frequencies_cannot():
    settings = tiny_settings(pretrain_max_steps=80, pretrain_eval_every=20)
    _, history = pretrain_model(two_programme_cells(200, seed=0), build_token_dictionary(GENES), settings,
                                torch.device("cpu"))
    assert history["uniform_chance"]["loss"] == pytest.approx(math.log(len(GENES)))
    assert history["beats_frequency_prior_by"] == pytest.approx(
        history["frequency_prior"]["loss"] - history["after"]["loss"])
    assert history["beats_frequency_prior_by"] > 0.3
    assert history["after"]["accuracy"] > 2 * history["frequency_prior"]["accuracy"]
