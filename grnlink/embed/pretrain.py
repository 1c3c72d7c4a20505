"""A small BERT of Geneformer's architecture, pretrained on the run's own cells.

Weights of the published Geneformer cannot be downloaded here, so the default backend
builds its own: the token dictionary is every gene of the configured datasets, the gene
median dictionary their non-zero medians of normalised expression over all cells (as
Geneformer computes them on its corpus), and a `BertForMaskedLM` is trained by Geneformer's
masked-token objective (15% of the gene tokens; 80% `<mask>`, 10% a random gene, 10% kept)
on V2-style rank-value sequences (`<cls> ... <eos>`). The result is saved as a checkpoint
directory that the `geneformer` code path reads unchanged.

A seeded `validation_fraction` of the cells is held out and masked once, so that every
evaluation scores the same tokens, each chosen token shown as `<mask>` (a kept token, as
in the 10 % of training, could simply be copied from the input). Training evaluates them every `eval_every` steps, stops
after `patience` evaluations without a lower held-out loss (or at `max_steps`, over which
the learning-rate warm-up and decay are laid out) and keeps the weights of the best
evaluation. The held-out loss and accuracy are reported against two references on the same
masked tokens: uniform chance over the gene tokens (loss ln V, accuracy 1/V) and the
gene-frequency prior, which predicts every masked token with the genes' shares of the
training cells' gene tokens (plus one pseudo-count per gene, so that a gene never seen in
training costs a finite loss). Only a model below the prior has learned more than which
genes are common.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, NamedTuple

import anndata as ad
import numpy as np
import scipy.sparse as sp

from grnlink.dataset import load as load_preprocessed
from grnlink.embed.checkpoint import save_checkpoint
from grnlink.device import pick_device
from grnlink.embed.extract import expression_matrix, pad_batch, prefer_passive_openmp
from grnlink.embed.tokenizer import CLS, EOS, MASK, PAD, TARGET_SUM, gene_columns, tokenize_cells
from grnlink.reproducibility import package_versions, seed_everything
from grnlink.settings import PretrainSettings

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
SPECIAL_TOKENS = (PAD, MASK, CLS, EOS)
FIRST_GENE = len(SPECIAL_TOKENS)
NOT_PREDICTED = -100


class MaskedBatch(NamedTuple):
    """Model inputs of a batch of cells and the labels of its masked tokens (-100 elsewhere)."""

    attention: torch.Tensor
    inputs: torch.Tensor
    labels: torch.Tensor


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


def mask_tokens(ids: torch.Tensor, maskable: torch.Tensor, fraction: float, mask_id: int, first_gene_id: int,
                vocab_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Geneformer's masking: returns (inputs, labels), labels -100 where nothing is predicted."""
    import torch

    chosen = (torch.rand(ids.shape, generator=generator, device=ids.device) < fraction) & maskable
    if not chosen.any():
        first = maskable.nonzero()[0]
        chosen[first[0], first[1]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, NOT_PREDICTED))
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(chosen & (draw < 0.8), torch.full_like(ids, mask_id), ids)
    random_genes = torch.randint(first_gene_id, vocab_size, ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(chosen & (draw >= 0.8) & (draw < 0.9), random_genes, inputs)
    return inputs, labels


def masked_batch(sequences: Sequence[np.ndarray], token_dictionary: Mapping[str, int], mask_fraction: float,
                 device: torch.device, generator: torch.Generator) -> MaskedBatch:
    """Pad `sequences` into one batch and mask its gene tokens."""
    import torch

    ids, attention = pad_batch(sequences, token_dictionary[PAD])
    ids_t = torch.from_numpy(ids).to(device)
    inputs, labels = mask_tokens(ids_t, ids_t >= FIRST_GENE, mask_fraction, token_dictionary[MASK], FIRST_GENE,
                                 len(token_dictionary), generator)
    return MaskedBatch(torch.from_numpy(attention).to(device), inputs, labels)


def new_model(settings: PretrainSettings, vocab_size: int, pad_id: int) -> Any:
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


def split_held_out(sequences: Sequence[np.ndarray], fraction: float,
                   seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training, held-out) cells; a seeded `fraction` of them, at least one, is held out.

    A single cell is both, so that a one-cell corpus still trains.
    """
    order = np.random.default_rng(seed).permutation(len(sequences))
    n_held_out = max(1, int(round(fraction * len(sequences))))
    held_out = [sequences[i] for i in order[:n_held_out]]
    return [sequences[i] for i in order[n_held_out:]] or held_out, held_out


def held_out_batches(held_out: Sequence[np.ndarray], token_dictionary: Mapping[str, int],
                     settings: PretrainSettings, device: torch.device) -> list[MaskedBatch]:
    """The held-out cells in batches, masked once from a seed of their own.

    Every chosen token is shown as `<mask>`: with Geneformer's 10% kept tokens a model could
    beat both references by copying its input, without learning anything about cells.
    """
    import torch

    generator = torch.Generator(device=device).manual_seed(settings.seed + 1)
    batches = [masked_batch(held_out[start : start + settings.batch_size], token_dictionary, settings.mask_fraction,
                            device, generator) for start in range(0, len(held_out), settings.batch_size)]
    mask_id = token_dictionary[MASK]
    return [b._replace(inputs=torch.where(b.labels == NOT_PREDICTED, b.inputs, mask_id)) for b in batches]


def _masked_logits(model: Any, batch: MaskedBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (float32) and labels of the masked tokens; the vocabulary head runs on those only."""
    hidden = model.bert(input_ids=batch.inputs, attention_mask=batch.attention).last_hidden_state
    predicted = batch.labels != NOT_PREDICTED
    return model.cls(hidden[predicted]).float(), batch.labels[predicted]


def masked_token_scores(model: Any, batches: Sequence[MaskedBatch]) -> dict[str, float]:
    """Mean cross-entropy (nats) and accuracy over all masked tokens of `batches` (eval mode)."""
    import torch

    total_loss, correct, n_tokens = 0.0, 0, 0
    model.eval()
    with torch.inference_mode():
        for batch in batches:
            logits, target = _masked_logits(model, batch)
            total_loss += torch.nn.functional.cross_entropy(logits, target, reduction="sum").item()
            correct += int((logits.argmax(-1) == target).sum().item())
            n_tokens += target.numel()
    model.train()
    return {"loss": total_loss / n_tokens, "accuracy": correct / n_tokens}


def uniform_chance(n_genes: int) -> dict[str, float]:
    """Loss and accuracy of guessing uniformly among `n_genes` gene tokens."""
    return {"loss": math.log(n_genes), "accuracy": 1.0 / n_genes}


def gene_frequency_prior(training: Sequence[np.ndarray], labels: np.ndarray, vocab_size: int) -> dict[str, float]:
    """Loss and accuracy on the gene-token `labels` of predicting each with the gene frequencies of `training`.

    Every gene gets one pseudo-count; the accuracy is the share of labels equal to the most frequent gene.
    """
    counts = np.bincount(np.concatenate(training), minlength=vocab_size)[FIRST_GENE:] + 1.0
    genes = np.asarray(labels) - FIRST_GENE
    return {"loss": float(-np.log(counts[genes] / counts.sum()).mean()),
            "accuracy": float(np.mean(genes == np.argmax(counts)))}


def _held_out_labels(batches: Sequence[MaskedBatch]) -> np.ndarray:
    return np.concatenate([b.labels[b.labels != NOT_PREDICTED].cpu().numpy() for b in batches])


def _linear_warmup_decay(max_steps: int) -> Callable[[int], float]:
    """Learning-rate factor: linear warm-up over the first 10% of `max_steps`, then linear decay to 0."""
    warmup = max(1, max_steps // 10)
    return lambda step: min((step + 1) / warmup, max(0.0, (max_steps - step) / (max_steps - warmup + 1)))


def _training_cells(training: Sequence[np.ndarray], batch_size: int,
                    rng: np.random.Generator) -> Iterator[list[np.ndarray]]:
    """Endless batches of training cells from consecutive shuffled passes."""
    order = np.array([], dtype=np.int64)
    while True:
        while len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(training))])
        yield [training[i] for i in order[:batch_size]]
        order = order[batch_size:]


def _weights(model: Any) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _train(model: Any, training: Sequence[np.ndarray], evaluation: Sequence[MaskedBatch],
           before: Mapping[str, float], token_dictionary: Mapping[str, int], settings: PretrainSettings,
           device: torch.device) -> dict[str, Any]:
    """Train until the held-out loss stops improving; leave the best evaluation's weights in `model`
    and return, as `after`, that evaluation's scores.

    `before` is the untrained model's evaluation: when no step beats it, the initial weights are kept.
    """
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.001)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_warmup_decay(settings.max_steps))
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    batches = _training_cells(training, settings.batch_size, np.random.default_rng(settings.seed))
    use_bf16 = device.type == "cuda"
    best = {"step": 0, **before}
    best_weights, stale = _weights(model), 0
    evaluations: list[dict[str, float]] = []
    train_loss: list[float] = []
    for step in range(1, settings.max_steps + 1):
        batch = masked_batch(next(batches), token_dictionary, settings.mask_fraction, device, generator)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits, target = _masked_logits(model, batch)
            loss = torch.nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        train_loss.append(round(loss.item(), 5))
        if step % settings.eval_every and step < settings.max_steps:
            continue
        evaluations.append({"step": step, **masked_token_scores(model, evaluation)})
        log.info("step %d/%d: training loss %.4f, held-out loss %.4f, accuracy %.4f", step, settings.max_steps,
                 loss.item(), evaluations[-1]["loss"], evaluations[-1]["accuracy"])
        if evaluations[-1]["loss"] < best["loss"]:
            best, best_weights, stale = evaluations[-1], _weights(model), 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    model.load_state_dict(best_weights)
    return {"evaluations": evaluations, "best_step": best["step"],
            "after": {"loss": best["loss"], "accuracy": best["accuracy"]}, "steps_run": len(train_loss),
            "stopped_by": "patience" if stale >= settings.patience else "max_steps", "train_loss": train_loss}


def _log_summary(history: Mapping[str, Any]) -> None:
    before, after = history["before"], history["after"]
    prior, uniform = history["frequency_prior"], history["uniform_chance"]
    log.info("stopped by %s after %d steps (%.1f s); kept the weights of step %d", history["stopped_by"],
             history["steps_run"], history["seconds"], history["best_step"])
    log.info("held-out masked-token loss %.4f -> %.4f, accuracy %.4f -> %.4f (%d cells, %d masked tokens); "
             "uniform chance: loss %.4f, accuracy %.4f; gene-frequency prior: loss %.4f, accuracy %.4f",
             before["loss"], after["loss"], before["accuracy"], after["accuracy"], history["held_out_cells"],
             history["held_out_tokens"], uniform["loss"], uniform["accuracy"], prior["loss"], prior["accuracy"])
    margin = history["beats_frequency_prior_by"]
    if margin > 0:
        log.info("the model beats the gene-frequency prior by %.4f nats of held-out loss", margin)
    else:
        log.warning("the model does NOT beat the gene-frequency prior: its held-out loss is %.4f nats above it",
                    -margin)


def pretrain_model(sequences: Sequence[np.ndarray], token_dictionary: Mapping[str, int],
                   settings: PretrainSettings, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """Train a fresh model on `sequences`; return it (best held-out weights, on CPU) and the history."""
    import torch

    training, held_out = split_held_out(sequences, settings.validation_fraction, settings.seed)
    evaluation = held_out_batches(held_out, token_dictionary, settings, device)
    labels = _held_out_labels(evaluation)
    torch.manual_seed(settings.seed)
    model = new_model(settings, len(token_dictionary), token_dictionary[PAD]).to(device)
    before = masked_token_scores(model, evaluation)
    started = time.perf_counter()
    run = _train(model, training, evaluation, before, token_dictionary, settings, device)
    history = {
        "training_cells": len(training), "held_out_cells": len(held_out), "held_out_tokens": len(labels),
        "uniform_chance": uniform_chance(len(token_dictionary) - FIRST_GENE),
        "frequency_prior": gene_frequency_prior(training, labels, len(token_dictionary)),
        "before": before,
        "seconds": round(time.perf_counter() - started, 2), **run,
    }
    history["beats_frequency_prior_by"] = history["frequency_prior"]["loss"] - history["after"]["loss"]
    _log_summary(history)
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
