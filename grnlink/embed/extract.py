"""Gene embeddings: a layer's hidden states, mean-pooled per gene over the cells of a cell type.

As in scRegNet, `Z[g] = mean over cells n of h_g^(n)`, where `h_g^(n)` is the hidden state
of gene g's token in cell n at the chosen layer; cells where g is not expressed (or was
truncated away) do not contribute. Genes the model does not know get a zero vector.

Speed: the encoder keeps only the layers up to the one read (the MLM head and the layers
above are never run); cells are batched in order of sequence length so that padding stays
small; on CUDA the forward runs under bfloat16 autocast with PyTorch's scaled-dot-product
attention; pooling is accumulated on the device with `index_add_`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd

from grnlink.dataset import benchmark_genes, holds_counts
from grnlink.dataset import load as load_preprocessed
from grnlink.device import pick_device
from grnlink.embed.checkpoint import Checkpoint, load_checkpoint, load_masked_lm, model_gene_keys, read_gene_mapping
from grnlink.embed.tokenizer import gene_columns, tokenize_cells
from grnlink.io import write_anndata
from grnlink.reproducibility import package_versions, seed_everything
from grnlink.settings import ExtractionSettings

log = logging.getLogger(__name__)
MIN_KNOWN_SHARE = 0.9  # below it, a warning: the model sees too little of the cells


def prefer_passive_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spinning (unless the user chose otherwise).

    On a shared CPU, spinning torch threads waiting at barriers made small-model training 5x
    slower in wall time (measured on 2 loaded cores). Takes effect only before torch is imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def hidden_state_index(layer: int, num_layers: int) -> int:
    """Index into HF `hidden_states` (0 = embeddings, num_layers = final layer); negative counts from the top."""
    index = layer if layer >= 0 else num_layers + 1 + layer
    if not 0 <= index <= num_layers:
        raise ValueError(f"layer {layer} is out of range for a model with {num_layers} layers")
    return index


def truncated_encoder(model, index: int):
    """The BERT encoder of a `BertForMaskedLM` cut after layer `index`: its output is hidden_states[index]."""
    import torch

    encoder = model.bert
    encoder.encoder.layer = torch.nn.ModuleList(list(encoder.encoder.layer)[:index])
    return encoder


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cell indices in batches of similar length, longest first (a memory error shows at once)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Input ids padded to the longest sequence, and the attention mask."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


@dataclass(frozen=True)
class PooledStates:
    """Per (group, slot): the sum of hidden states (float64) and the number of cells summed."""

    sums: np.ndarray
    counts: np.ndarray


def pool_hidden_states(
    encoder,
    sequences: Sequence[np.ndarray],
    groups: np.ndarray,
    n_groups: int,
    token_slots: np.ndarray,
    n_slots: int,
    batch_size: int,
    device,
    pad_id: int,
) -> PooledStates:
    """Sum the encoder's output per (group of the cell, slot of the token) over all cells.

    `token_slots[token]` is the output slot of a token, -1 for tokens not pooled.
    """
    import torch

    hidden_size = encoder.config.hidden_size
    use_bf16 = device.type == "cuda"
    encoder = encoder.to(device).eval()
    slots = torch.as_tensor(token_slots, dtype=torch.int64, device=device)
    group_of = torch.as_tensor(np.array(groups), dtype=torch.int64, device=device)
    sums = torch.zeros(n_groups * n_slots, hidden_size, dtype=torch.float64, device=device)
    counts = torch.zeros(n_groups * n_slots, dtype=torch.int64, device=device)
    lengths = np.array([len(s) for s in sequences])
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size):
            ids, mask = pad_batch([sequences[i] for i in batch], pad_id)
            ids_t = torch.from_numpy(ids).to(device, non_blocking=True)
            mask_t = torch.from_numpy(mask).to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                hidden = encoder(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
            slot = slots[ids_t]
            keep = (slot >= 0) & mask_t.bool()
            flat = (group_of[torch.from_numpy(batch).to(device)][:, None] * n_slots + slot)[keep]
            sums.index_add_(0, flat, hidden[keep].to(torch.float64))
            counts.index_add_(0, flat, torch.ones_like(flat))
    return PooledStates(
        sums=sums.reshape(n_groups, n_slots, hidden_size).cpu().numpy(),
        counts=counts.reshape(n_groups, n_slots).cpu().numpy(),
    )


def _mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.divide(sums, counts[..., None], out=np.zeros_like(sums), where=counts[..., None] > 0)


def expression_matrix(rna: ad.AnnData):
    """Raw counts when the object has them, else `X` (what the ranking is computed on)."""
    return rna.layers["counts"] if "counts" in rna.layers else rna.X


def ranked_values(rna: ad.AnnData) -> str:
    """What the ranking is computed on: `counts` (layers["counts"], or an `X` of whole
    numbers) or `log values` (any other `X`: log or otherwise transformed expression)."""
    return "counts" if "counts" in rna.layers or holds_counts(rna.X) else "log values"


@dataclass(frozen=True)
class EmbeddingInputs:
    """What the model saw of a dataset (recorded in the embeddings file, the log and the report).

    `n_genes` genes in the object (`n_benchmark_genes` of them benchmark genes); `n_mapped`
    of them reach a model gene id (all without a mapping table), `n_known` are in the
    model's token and median dictionaries (`n_benchmark_known` among the benchmark genes);
    `tokens_per_cell` the median number of gene tokens per cell after truncation.
    """

    ranked_on: str
    n_genes: int
    n_benchmark_genes: int
    n_mapped: int
    n_known: int
    n_benchmark_known: int
    tokens_per_cell: float
    model_input_size: int

    @property
    def known_share(self) -> float:
        return self.n_known / self.n_genes if self.n_genes else 0.0

    @property
    def mapped_share(self) -> float:
        return self.n_mapped / self.n_genes if self.n_genes else 0.0

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = dict(asdict(self))
        record.update(known_share=self.known_share, mapped_share=self.mapped_share)
        return record

    def warnings(self) -> list[str]:
        """The reasons the embedding may not be what the model would give on its own data."""
        problems = []
        if self.known_share < MIN_KNOWN_SHARE:
            problems.append(
                f"only {self.known_share:.0%} of the {self.n_genes} genes are known to the model "
                f"({self.n_genes - self.n_mapped} have no model gene id in the mapping table, "
                f"{self.n_mapped - self.n_known} are mapped but absent from the token/median dictionaries): "
                "unknown genes are left out of every cell's ranking and unknown benchmark genes get zero "
                "vectors; for mouse data give an orthology table (symbol -> human Ensembl id) as embed.mapping_table")
        if self.ranked_on != "counts":
            whole = ("" if self.n_genes > self.n_benchmark_genes else
                     f"; the object holds only the {self.n_genes} benchmark genes (a GENELink folder has no "
                     "whole transcriptome: a GEO, h5ad or h5mu source gives the model every gene)")
            problems.append(
                "cells were ranked on log values, not counts: the rank-value encoding divides counts by the "
                f"cell's total and the gene's median, which log values distort{whole}")
        return problems


def log_inputs(inputs: EmbeddingInputs, *, mapped: bool) -> None:
    """One line of what the model sees, then a WARNING per problem (`EmbeddingInputs.warnings`)."""
    mapping = f"{inputs.mapped_share:.0%} mapped to model gene ids, " if mapped else ""
    log.info("model input: %d genes (%d benchmark), %s%.0f%% known to the model; ranked on %s; "
             "median %g gene tokens per cell (input size %d)", inputs.n_genes, inputs.n_benchmark_genes, mapping,
             100 * inputs.known_share, inputs.ranked_on, inputs.tokens_per_cell, inputs.model_input_size)
    for problem in inputs.warnings():
        log.warning(problem)


def describe_inputs(rna: ad.AnnData, model_keys: Sequence[str | None], checkpoint: Checkpoint,
                    sequences: Sequence[np.ndarray]) -> EmbeddingInputs:
    """The `EmbeddingInputs` of `rna` whose columns map to `model_keys` (None = unmapped)."""
    known = checkpoint.knows(model_keys)
    benchmark = rna.var["selected"].to_numpy(dtype=bool)
    special = 2 if checkpoint.special_tokens else 0
    return EmbeddingInputs(
        ranked_on=ranked_values(rna),
        n_genes=rna.n_vars,
        n_benchmark_genes=int(benchmark.sum()),
        n_mapped=sum(k is not None for k in model_keys),
        n_known=int(known.sum()),
        n_benchmark_known=int((known & benchmark).sum()),
        tokens_per_cell=float(np.median([len(s) - special for s in sequences])) if sequences else 0.0,
        model_input_size=checkpoint.model_input_size,
    )


def gene_embeddings(
    rna: ad.AnnData,
    checkpoint: Checkpoint,
    mapping: Mapping[str, str] | None = None,
    *,
    layer: int,
    batch_size: int,
    device: str,
    seed: int,
    metadata: Mapping[str, object] | None = None,
) -> ad.AnnData:
    """Embeddings of the benchmark genes: `X` pooled over all cells, one layer per cell type.

    `obs["known"]` says whether the model knows the gene (unknown genes are zeros) and
    `obs["n_cells"]` in how many cells its token was seen. `seed` (the model's) and
    `metadata` (None values dropped) are recorded in `uns`.
    """
    torch_device = pick_device(device)
    index = hidden_state_index(layer, checkpoint.num_layers)
    tokens, medians = checkpoint.token_dictionary, checkpoint.gene_medians
    model_keys = model_gene_keys(list(rna.var_names), mapping)
    columns = gene_columns(model_keys, tokens, medians)
    sequences = tokenize_cells(expression_matrix(rna), columns, tokens, checkpoint.model_input_size)
    inputs = describe_inputs(rna, model_keys, checkpoint, sequences)
    log_inputs(inputs, mapped=mapping is not None)

    genes = benchmark_genes(rna)
    keys = model_gene_keys(genes, mapping)
    known = checkpoint.knows(keys)
    slot_of_token: dict[int, int] = {}
    gene_slot = np.array([slot_of_token.setdefault(tokens[k], len(slot_of_token)) if ok else -1
                          for k, ok in zip(keys, known)])
    token_slots = np.full(max(tokens.values()) + 1, -1, dtype=np.int64)
    for token, slot in slot_of_token.items():
        token_slots[token] = slot

    cell_types = pd.Categorical(rna.obs["cell_type"])
    n_slots = max(len(slot_of_token), 1)
    log.info("embedding %d cells (%d cell types) on %s, hidden state %d of %d layers, %d/%d benchmark genes known",
             rna.n_obs, len(cell_types.categories), torch_device, index, checkpoint.num_layers, known.sum(), len(genes))
    if (~known).any():
        log.warning("%d benchmark genes are unknown to the model and get zero vectors, e.g. %s",
                    (~known).sum(), [g for g, ok in zip(genes, known) if not ok][:10])
    encoder = truncated_encoder(load_masked_lm(checkpoint), index)
    pooled = pool_hidden_states(encoder, sequences, cell_types.codes, len(cell_types.categories), token_slots,
                                n_slots, batch_size, torch_device, checkpoint.pad_id)

    def per_gene(matrix: np.ndarray) -> np.ndarray:
        out = np.zeros((len(genes), matrix.shape[-1]), dtype=np.float32)
        out[known] = matrix[gene_slot[known]]
        return out

    total_counts = pooled.counts.sum(axis=0)
    n_cells = np.where(known, total_counts[np.maximum(gene_slot, 0)], 0)
    unseen = int((known & (n_cells == 0)).sum())
    if unseen:
        log.warning("%d known benchmark genes were not in any cell's input and get zero vectors", unseen)
    result = ad.AnnData(
        X=per_gene(_mean(pooled.sums.sum(axis=0), total_counts)),
        obs=pd.DataFrame({"known": known, "n_cells": n_cells.astype(np.int64)}, index=pd.Index(genes)),
    )
    for code, cell_type in enumerate(cell_types.categories):
        result.layers[str(cell_type)] = per_gene(_mean(pooled.sums[code], pooled.counts[code]))
    result.uns["embed"] = {
        "model_dir": str(checkpoint.model_dir),
        "hidden_state_index": index,
        "num_layers": checkpoint.num_layers,
        "model_input_size": checkpoint.model_input_size,
        "device": str(torch_device),
        "n_unknown": int((~known).sum()),
        "n_unseen": unseen,
        "inputs": inputs.as_record(),
        "warnings": inputs.warnings(),
        **{k: v for k, v in (metadata or {}).items() if v is not None},
    }
    result.uns["grnlink"] = {"seed": seed, "versions": package_versions()}
    return result


def embed_dataset(
    settings: ExtractionSettings,
    *,
    preprocessed: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    token_dictionary: str | os.PathLike[str] | None = None,
    gene_median_dictionary: str | os.PathLike[str] | None = None,
    mapping_table: str | os.PathLike[str] | None = None,
    device: str = "auto",
    threads: int = 1,
) -> None:
    """The `embed` rule: read the preprocessed object and the checkpoint (with dictionaries
    replacing its own, and a symbol -> model gene id table), write the embeddings."""
    prefer_passive_openmp()
    import torch

    torch.set_num_threads(max(1, threads))
    seed_everything(settings.seed)
    rna, _ = load_preprocessed(preprocessed)
    checkpoint = load_checkpoint(model_dir, token_dictionary, gene_median_dictionary)
    mapping = read_gene_mapping(mapping_table) if mapping_table else None
    result = gene_embeddings(
        rna, checkpoint, mapping,
        layer=settings.layer,
        batch_size=settings.batch_size,
        device=device,
        seed=settings.seed,
        metadata={"backend": settings.backend, "model_name": settings.model_name,
                  "mapping_table": None if mapping_table is None else str(mapping_table)},
    )
    write_anndata(result, output)
