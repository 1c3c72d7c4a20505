"""A small Geneformer-architecture model pretrained on the run's own cells.

Weights of the published Geneformer cannot be downloaded here, so the default backend
builds its own: the token dictionary is every gene of the configured datasets, the gene
median dictionary their non-zero medians of normalised expression over all cells (as
Geneformer computes them on its corpus), and a `BertForMaskedLM` is trained by Geneformer's
masked-token objective (15% of the gene tokens; 80% `<mask>`, 10% a random gene, 10% kept)
on V2-style rank-value sequences (`<cls> ... <eos>`). The result is saved as a checkpoint
directory that the `geneformer` code path reads unchanged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp

from grnlink.dataset import load as load_preprocessed
from grnlink.embed.checkpoint import save_checkpoint
from grnlink.embed.extract import expression_matrix, pad_batch, pick_device, prefer_passive_openmp
from grnlink.embed.tokenizer import CLS, EOS, MASK, PAD, TARGET_SUM, gene_columns, tokenize_cells
from grnlink.reproducibility import package_versions, seed_everything
from grnlink.settings import PretrainSettings

log = logging.getLogger(__name__)
SPECIAL_TOKENS = (PAD, MASK, CLS, EOS)


def build_token_dictionary(genes: Sequence[str]) -> dict[str, int]:
    """Special tokens 0-3 (`<pad>`, `<mask>`, `<cls>`, `<eos>`), then the genes in sorted order."""
    dictionary = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for gene in sorted(set(genes) - set(SPECIAL_TOKENS)):
        dictionary[gene] = len(dictionary)
    return dictionary


def nonzero_medians(rnas: Sequence[ad.AnnData]) -> dict[str, float]:
    """Per gene, the median over all cells where it is expressed of counts / cell total * 10,000."""
    values: dict[str, list[np.ndarray]] = {}
    for rna in rnas:
        counts = sp.csr_matrix(expression_matrix(rna), dtype=np.float64)
        totals = np.asarray(counts.sum(axis=1)).ravel()
        scale = np.divide(TARGET_SUM, totals, out=np.zeros_like(totals), where=totals > 0)
        normalised = sp.csc_matrix(sp.diags(scale) @ counts)
        normalised.eliminate_zeros()
        for j, gene in enumerate(rna.var_names):
            column = normalised.data[normalised.indptr[j] : normalised.indptr[j + 1]]
            if column.size:
                values.setdefault(str(gene), []).append(column)
    return {gene: float(np.median(np.concatenate(parts))) for gene, parts in values.items()}


def mask_tokens(ids, maskable, fraction: float, mask_id: int, first_gene_id: int, vocab_size: int, generator):
    """Geneformer's masking: returns (inputs, labels), labels -100 where nothing is predicted."""
    import torch

    chosen = (torch.rand(ids.shape, generator=generator, device=ids.device) < fraction) & maskable
    if not chosen.any():
        first = maskable.nonzero()[0]
        chosen[first[0], first[1]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(chosen & (draw < 0.8), torch.full_like(ids, mask_id), ids)
    random_genes = torch.randint(first_gene_id, vocab_size, ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(chosen & (draw >= 0.8) & (draw < 0.9), random_genes, inputs)
    return inputs, labels


def new_model(settings: PretrainSettings, vocab_size: int, pad_id: int):
    """A randomly initialised BERT MLM shaped like Geneformer (ReLU, dropout 0.02, absolute positions)."""
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=settings.hidden_size,
        num_hidden_layers=settings.num_layers,
        num_attention_heads=settings.num_heads,
        intermediate_size=settings.intermediate_size,
        hidden_act="relu",
        hidden_dropout_prob=0.02,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=settings.max_length,
        pad_token_id=pad_id,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
    )
    return BertForMaskedLM._from_config(config, attn_implementation="sdpa")


def _masked_lm_loss(model, ids, attention, labels):
    import torch

    hidden = model.bert(input_ids=ids, attention_mask=attention).last_hidden_state
    predicted = labels != -100
    logits = model.cls(hidden[predicted]).float()
    target = labels[predicted]
    loss = torch.nn.functional.cross_entropy(logits, target)
    return loss, (logits.argmax(-1) == target).float().mean()


def _evaluate(model, sequences, token_dictionary, settings, device) -> dict[str, float]:
    """Masked-token loss and accuracy on held-out cells (reported, never used to choose anything).

    The masks are drawn from a fixed seed, so evaluations before and after training compare alike.
    """
    import torch

    generator = torch.Generator(device=device).manual_seed(settings.seed + 1)
    model.eval()
    losses, accuracies = [], []
    with torch.inference_mode():
        for start in range(0, len(sequences), settings.batch_size):
            attention, inputs, labels = _masked_batch(
                sequences[start : start + settings.batch_size], token_dictionary, settings, device, generator)
            loss, accuracy = _masked_lm_loss(model, inputs, attention, labels)
            losses.append(loss.item())
            accuracies.append(accuracy.item())
    model.train()
    return {"loss": float(np.mean(losses)), "accuracy": float(np.mean(accuracies))}


def _masked_batch(sequences, token_dictionary, settings, device, generator):
    import torch

    ids, attention = pad_batch(sequences, token_dictionary[PAD])
    ids_t = torch.from_numpy(ids).to(device)
    attention_t = torch.from_numpy(attention).to(device)
    first_gene = len(SPECIAL_TOKENS)
    inputs, labels = mask_tokens(ids_t, ids_t >= first_gene, settings.mask_fraction, token_dictionary[MASK],
                                 first_gene, len(token_dictionary), generator)
    return attention_t, inputs, labels


def pretrain_model(sequences: Sequence[np.ndarray], token_dictionary: Mapping[str, int],
                   settings: PretrainSettings, device) -> tuple[Any, dict[str, Any]]:
    """Train a fresh model on `sequences`; return it (on CPU) and the training history."""
    import torch

    rng = np.random.default_rng(settings.seed)
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    order = rng.permutation(len(sequences))
    n_validation = max(1, int(round(settings.validation_fraction * len(sequences))))
    validation = [sequences[i] for i in order[:n_validation]]
    training = [sequences[i] for i in order[n_validation:]] or validation

    torch.manual_seed(settings.seed)
    model = new_model(settings, len(token_dictionary), token_dictionary[PAD]).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.001)
    warmup = max(1, settings.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (settings.steps - step) / (settings.steps - warmup + 1))))
    use_bf16 = device.type == "cuda"
    before = _evaluate(model, validation, token_dictionary, settings, device)
    history: dict[str, Any] = {"validation_before": before, "train_loss": []}
    started = time.perf_counter()
    batch_order = np.array([], dtype=np.int64)
    for step in range(settings.steps):
        if len(batch_order) < settings.batch_size:
            batch_order = np.concatenate([batch_order, rng.permutation(len(training))])
        batch, batch_order = batch_order[: settings.batch_size], batch_order[settings.batch_size :]
        attention, inputs, labels = _masked_batch([training[i] for i in batch], token_dictionary, settings, device,
                                                  generator)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss, _ = _masked_lm_loss(model, inputs, attention, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        history["train_loss"].append(round(loss.item(), 5))
        if (step + 1) % max(1, settings.steps // 10) == 0:
            log.info("step %d/%d: masked-token loss %.4f", step + 1, settings.steps, loss.item())
    history["train_seconds"] = round(time.perf_counter() - started, 2)
    history["validation_after"] = _evaluate(model, validation, token_dictionary, settings, device)
    log.info("held-out masked-token loss %.4f -> %.4f, accuracy %.4f -> %.4f (%d cells)", before["loss"],
             history["validation_after"]["loss"], before["accuracy"], history["validation_after"]["accuracy"],
             len(validation))
    return model.cpu().eval(), history


def pretrain_checkpoint(rnas: Sequence[ad.AnnData], out_dir: str | os.PathLike[str],
                        settings: PretrainSettings, device: str = "auto") -> None:
    """Build dictionaries from all cells of `rnas`, pretrain, and save the checkpoint directory."""
    seed_everything(settings.seed)
    torch_device = pick_device(device)
    medians = nonzero_medians(rnas)
    token_dictionary = build_token_dictionary(list(medians))
    sequences: list[np.ndarray] = []
    for rna in rnas:
        columns = gene_columns(list(rna.var_names), token_dictionary, medians)
        sequences += tokenize_cells(expression_matrix(rna), columns, token_dictionary, settings.max_length)
    lengths = np.array([len(s) for s in sequences])
    log.info("pretraining on %s: %d cells, %d genes, tokens per cell median %d (max %d, input size %d)",
             torch_device, len(sequences), len(medians), np.median(lengths), lengths.max(), settings.max_length)
    model, history = pretrain_model(sequences, token_dictionary, settings, torch_device)
    save_checkpoint(model, token_dictionary, medians, out_dir, {
        "settings": asdict(settings), "seed": settings.seed, "n_cells": len(sequences), "n_genes": len(medians),
        "device": str(torch_device), "history": history, "versions": package_versions(),
    })


def run_pretraining(
    settings: PretrainSettings,
    *,
    preprocessed: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    device: str = "auto",
    threads: int = 1,
) -> None:
    """The `pretrain` rule: all cells of every preprocessed object -> a checkpoint directory."""
    prefer_passive_openmp()
    import torch

    torch.set_num_threads(max(1, threads))
    rnas = [load_preprocessed(path)[0] for path in preprocessed]
    pretrain_checkpoint(rnas, out_dir, settings, device)
