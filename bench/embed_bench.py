"""Speed of the embed stage's extraction at Geneformer V1 and V2 size: grnlink vs a plain reference.

A random-initialised checkpoint of a named size and synthetic cells with Geneformer-like
sequence lengths are embedded twice, on the same model and the same cells:

- reference: the full `BertForMaskedLM` in float32 (TF32 off, PyTorch's default) with eager
  attention and `output_hidden_states=True`, batches in cell order padded to their longest
  sequence, pooling in NumPy on the host (what a straightforward Geneformer embedding script does);
- grnlink: `grnlink.embed.extract.pool_hidden_states` (encoder cut after the layer read,
  length-sorted batches, SDPA attention, bf16 autocast on CUDA, pooling on the device).

Sizes (`--model`): `v1` is Geneformer V1 6L-30M (input 2048, vocabulary 25,426, no
`<cls>`/`<eos>`), `v2` is Geneformer V2 gf-12L-95M-i4096 (input 4096, vocabulary 20,275,
`<cls>`/`<eos>` framing), `tiny` is for the tests. The configs and their sources are in
`v1_config` and `V2_CONFIG`.

Reported per path: cells/s, wall seconds, achieved TFLOP/s of useful model FLOPs (the matrix
products of the layers up to the one read, attention included, over the real tokens; the
reference's padding, top layer and MLM head are not counted), and on CUDA the fraction of the
GPU's dense bf16 peak and the peak GPU memory. The pooled embeddings of the two paths must
agree (`TOLERANCE`); a disagreement is reported and makes the exit status 1.

The reference runs first and stops at `--reference-budget` seconds; grnlink then embeds the
cells the reference finished, so both paths are always timed on the same cells. With
`--write-results` each finished model size is written to bench/RESULTS.md at once.

    .venv/bin/python bench/embed_bench.py --device cpu --model v1 --cells 16 --batch-size 8 --write-results

Intended GPU run, sized for about 3 minutes of device time for both sizes (the reference, the
slow path, stops after 60 s per size):

    .venv/bin/python bench/embed_bench.py --device cuda --cells 2048 --write-results
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grnlink.device import pick_device  # noqa: E402
from grnlink.embed.extract import (  # noqa: E402
    PooledStates, hidden_state_index, pad_batch, pool_hidden_states, prefer_passive_openmp, truncated_encoder,
)

prefer_passive_openmp()  # before torch loads, as the pipeline's embed jobs run
import torch  # noqa: E402
from transformers import BertConfig, BertForMaskedLM  # noqa: E402
from transformers.utils.logging import disable_progress_bar  # noqa: E402

from grnlink.embed.checkpoint import (  # noqa: E402
    GENE_MEDIAN_FILE, TOKEN_DICTIONARY_FILE, load_checkpoint, load_masked_lm,
)
from grnlink.embed.tokenizer import CLS, EOS, MASK, PAD, gene_columns, tokenize_cells  # noqa: E402
from results import RESULTS, update_section  # noqa: E402

CPU_SECTION, GPU_SECTION = "Embedding extraction (CPU, issue 6)", "Embedding extraction (GPU, issue 6)"

V1_CONFIG_FILE = "geneformer-6L-30M_config.json"
V1_CONFIG_DIRS = (ROOT / "resources" / "geneformer", ROOT.parent / "shared" / "data" / "geneformer")
# Copy of V1_CONFIG_FILE (Hugging Face ctheodoris/Geneformer config.json, commit c45a71b,
# "upload Geneformer 6L-30M config"), used when no copy of the file is found.
V1_CONFIG = {"vocab_size": 25426, "hidden_size": 256, "num_hidden_layers": 6, "num_attention_heads": 4,
             "intermediate_size": 512, "hidden_act": "relu", "max_position_embeddings": 2048,
             "layer_norm_eps": 1e-12, "pad_token_id": 0, "type_vocab_size": 2, "position_embedding_type": "absolute"}
V1_CONFIG_SOURCE = "Hugging Face ctheodoris/Geneformer config.json at commit c45a71b (constants in the bench)"
# Hugging Face ctheodoris/Geneformer, commit 933ca80 ("update with 12L and 20L i4096 gc95M
# models"): gf-12L-95M-i4096/config.json (the same values as the repository's root config.json then).
V2_CONFIG = {"vocab_size": 20275, "hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 8,
             "intermediate_size": 1024, "hidden_act": "relu", "max_position_embeddings": 4096,
             "layer_norm_eps": 1e-12, "pad_token_id": 0, "type_vocab_size": 2, "position_embedding_type": "absolute"}
V2_CONFIG_SOURCE = "Hugging Face ctheodoris/Geneformer gf-12L-95M-i4096/config.json at commit 933ca80"
TINY_CONFIG = {"vocab_size": 404, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
               "intermediate_size": 128, "hidden_act": "relu", "max_position_embeddings": 128,
               "layer_norm_eps": 1e-12, "pad_token_id": 0, "type_vocab_size": 2, "position_embedding_type": "absolute"}

# Expressed genes per cell are log-normal around the median (sigma below), at least a tenth of
# it: with a median of 2,500 about two thirds of the cells fill V1's 2,048 tokens and one in six
# fills V2's 4,096.
EXPRESSED_SIGMA = 0.5
N_GROUPS = 4

# Largest relative error of a pooled embedding (one gene in one group) allowed between the paths.
# fp32 on both sides differs by summation order only (measured below 1e-6). Under bf16 autocast the
# per-token error measured with CPU autocast on these random-weight models was 1.3e-3 (V1) and
# 3.4e-3 (V2); 2e-2 leaves room for the GPU kernels' different accumulation.
TOLERANCE = {"cpu": 1e-4, "cuda": 2e-2}

# Dense (no sparsity) bf16 tensor-core FLOP/s from NVIDIA's data sheets; the first name contained
# in the device name wins, so the more specific names come first.
DENSE_BF16_PEAK = (("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H200 NVL", 835e12), ("H100", 989e12),
                   ("H200", 989e12), ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12))


@dataclass(frozen=True)
class ModelSize:
    name: str
    config: dict
    source: str
    special_tokens: bool  # V2 frames cells as <cls> ... <eos>
    batch_size: int  # fp32 eager attention holds batch x heads x input^2 scores per layer
    median_genes: int


@dataclass(frozen=True)
class PathRun:
    implementation: str
    cells: int
    seconds: float
    tflops: float
    peak_fraction: float | None
    peak_memory_gib: float | None

    @property
    def cells_per_s(self) -> float:
        return self.cells / self.seconds


@dataclass(frozen=True)
class ModelRun:
    size: ModelSize
    cells_requested: int
    lengths: np.ndarray
    layer_index: int
    batch_size: int
    reference_padding: float  # padded tokens / real tokens - 1 in the reference's batches
    gflop_per_cell: float
    reference: PathRun
    grnlink: PathRun
    error: float
    tolerance: float

    @property
    def agrees(self) -> bool:
        return self.error <= self.tolerance

    @property
    def speedup(self) -> float:
        return self.grnlink.cells_per_s / self.reference.cells_per_s


def v1_config() -> tuple[dict, str]:
    """Geneformer V1 6L-30M's config: from the first copy of its config.json found, else the constants."""
    for directory in V1_CONFIG_DIRS:
        path = directory / V1_CONFIG_FILE
        if path.is_file():
            config = json.loads(path.read_text())
            shown = os.path.relpath(path, ROOT)
            return {key: config[key] for key in V1_CONFIG}, f"{shown} (a copy of HF ctheodoris/Geneformer config.json)"
    return V1_CONFIG, V1_CONFIG_SOURCE


def model_size(name: str) -> ModelSize:
    if name == "v1":
        config, source = v1_config()
        return ModelSize("v1", config, source, special_tokens=False, batch_size=64, median_genes=2500)
    if name == "v2":
        return ModelSize("v2", V2_CONFIG, V2_CONFIG_SOURCE, special_tokens=True, batch_size=16, median_genes=2500)
    if name == "tiny":
        return ModelSize("tiny", TINY_CONFIG, "test size", special_tokens=True, batch_size=4, median_genes=100)
    raise ValueError(f"unknown model size {name!r}")


def special_tokens(size: ModelSize) -> list[str]:
    return [PAD, MASK, CLS, EOS] if size.special_tokens else [PAD, MASK]


def gene_count(size: ModelSize) -> int:
    return size.config["vocab_size"] - len(special_tokens(size))


def make_checkpoint(path: Path, size: ModelSize) -> Path:
    """A random-weight `BertForMaskedLM` of `size` with genes G0, G1, ... (all medians 1)."""
    specials = special_tokens(size)
    tokens = {**{t: i for i, t in enumerate(specials)},
              **{f"G{i}": i + len(specials) for i in range(gene_count(size))}}
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(**size.config)).save_pretrained(path)
    (path / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps(tokens))
    (path / GENE_MEDIAN_FILE).write_bytes(pickle.dumps({f"G{i}": 1.0 for i in range(gene_count(size))}))
    return path


def synthetic_counts(n_cells: int, n_genes: int, median_genes: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Cells x genes Poisson counts; the number of expressed genes per cell is log-normal."""
    expressed = rng.lognormal(np.log(median_genes), EXPRESSED_SIGMA, size=n_cells).astype(np.int64)
    expressed = np.clip(expressed, max(1, median_genes // 10), n_genes)
    indices = np.concatenate([np.sort(rng.choice(n_genes, size=n, replace=False)) for n in expressed])
    counts = (rng.poisson(3.0, size=indices.size) + 1).astype(np.float32)
    indptr = np.concatenate(([0], np.cumsum(expressed)))
    return sp.csr_matrix((counts, indices, indptr), shape=(n_cells, n_genes))


def reference_pool(model, sequences: Sequence[np.ndarray], groups: np.ndarray, token_slots: np.ndarray,
                   n_slots: int, index: int, batch_size: int, device, pad_id: int,
                   deadline: float) -> tuple[PooledStates, int]:
    """Plain extraction of the cells in order until `deadline` (perf_counter) has passed after a batch.

    Returns the pooled states and the number of cells done (the first ones).
    """
    hidden_size = model.config.hidden_size
    sums = np.zeros((N_GROUPS * n_slots, hidden_size))
    counts = np.zeros(N_GROUPS * n_slots, dtype=np.int64)
    model = model.to(device).eval()
    done = 0
    with torch.no_grad():
        while done < len(sequences) and (done == 0 or time.perf_counter() < deadline):
            batch = sequences[done : done + batch_size]
            ids, mask = pad_batch(batch, pad_id)
            out = model(input_ids=torch.from_numpy(ids).to(device), attention_mask=torch.from_numpy(mask).to(device),
                        output_hidden_states=True)
            states = out.hidden_states[index].cpu().numpy()
            for row, seq in enumerate(batch):
                slot = token_slots[seq]
                keep = slot >= 0
                flat = groups[done + row] * n_slots + slot[keep]
                sums[flat] += states[row, : len(seq)][keep]  # a gene occurs once per cell
                counts[flat] += 1
            done += len(batch)
    pooled = PooledStates(sums=sums.reshape(N_GROUPS, n_slots, hidden_size), counts=counts.reshape(N_GROUPS, n_slots))
    return pooled, done


def embedding_error(ours: PooledStates, reference: PooledStates) -> float:
    """Largest relative L2 error of a pooled mean embedding; infinite when the cells counted differ."""
    if not np.array_equal(ours.counts, reference.counts):
        return float("inf")
    seen = reference.counts > 0
    ref_mean = reference.sums[seen] / reference.counts[seen][:, None]
    our_mean = ours.sums[seen] / ours.counts[seen][:, None]
    return float(np.max(np.linalg.norm(our_mean - ref_mean, axis=1) / np.linalg.norm(ref_mean, axis=1)))


def model_flops_per_cell(lengths: np.ndarray, layers: int, hidden: int, intermediate: int) -> float:
    """Matrix-product FLOPs of `layers` BERT layers over the real tokens (mean per cell):
    Q, K, V, output and the two feed-forward projections, plus QK^T and attention x V."""
    lengths = lengths.astype(np.float64)
    linear = 2 * (4 * hidden * hidden + 2 * hidden * intermediate) * lengths
    attention = 2 * 2 * lengths**2 * hidden
    return float(np.mean(layers * (linear + attention)))


def dense_bf16_peak(device_name: str) -> float | None:
    return next((peak for name, peak in DENSE_BF16_PEAK if name in device_name), None)


def timed_on(device, fn: Callable[[], object]) -> tuple[float, object, float | None]:
    """Wall seconds, result and (on CUDA) peak GPU memory in GiB of `fn()`."""
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    result = fn()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    return seconds, result, torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None


def reference_padding(lengths: np.ndarray, batch_size: int) -> float:
    padded = sum(len(b) * b.max() for b in (lengths[i : i + batch_size] for i in range(0, len(lengths), batch_size)))
    return padded / lengths.sum() - 1


def bench_model(size: ModelSize, n_cells: int, batch_size: int, layer: int, budget_s: float, device) -> ModelRun:
    rng = np.random.default_rng(0)
    n_genes = gene_count(size)
    index = hidden_state_index(layer, size.config["num_hidden_layers"])
    peak = dense_bf16_peak(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = load_checkpoint(make_checkpoint(Path(tmp) / "model", size))
        reference_model = load_masked_lm(checkpoint, "eager")
        encoder = truncated_encoder(load_masked_lm(checkpoint, "sdpa"), index)
    tokens = checkpoint.token_dictionary
    columns = gene_columns([f"G{i}" for i in range(n_genes)], tokens, checkpoint.gene_medians)
    sequences = tokenize_cells(synthetic_counts(n_cells, n_genes, size.median_genes, rng), columns, tokens,
                               checkpoint.model_input_size)
    groups = rng.integers(0, N_GROUPS, size=n_cells)
    token_slots = np.full(size.config["vocab_size"], -1, dtype=np.int64)
    token_slots[len(special_tokens(size)):] = np.arange(n_genes)

    def run_reference(cells: Sequence[np.ndarray], deadline: float) -> tuple[PooledStates, int]:
        pooled_and_done = reference_pool(reference_model, cells, groups, token_slots, n_genes, index, batch_size, device,
                                         checkpoint.pad_id, deadline)
        reference_model.cpu()
        return pooled_and_done

    def run_grnlink(cells: Sequence[np.ndarray]) -> PooledStates:
        pooled = pool_hidden_states(encoder, cells, groups[: len(cells)], N_GROUPS, token_slots, n_genes, batch_size,
                                    device, checkpoint.pad_id)
        encoder.cpu()
        return pooled

    warm_up = sequences[:batch_size]
    run_reference(warm_up, float("inf"))
    run_grnlink(warm_up)
    ref_s, (ref_pooled, done), ref_memory = timed_on(device, lambda: run_reference(sequences,
                                                                                 time.perf_counter() + budget_s))
    our_s, our_pooled, our_memory = timed_on(device, lambda: run_grnlink(sequences[:done]))

    lengths = np.array([len(s) for s in sequences[:done]])
    config = size.config
    flops = model_flops_per_cell(lengths, index, config["hidden_size"], config["intermediate_size"])

    def path_run(implementation: str, seconds: float, memory: float | None) -> PathRun:
        tflops = flops * done / seconds / 1e12
        return PathRun(implementation, done, seconds, tflops, tflops * 1e12 / peak if peak else None, memory)

    return ModelRun(
        size=size, cells_requested=n_cells, lengths=lengths, layer_index=index, batch_size=batch_size,
        reference_padding=reference_padding(lengths, batch_size), gflop_per_cell=flops / 1e9,
        reference=path_run("reference", ref_s, ref_memory), grnlink=path_run("grnlink", our_s, our_memory),
        error=embedding_error(our_pooled, ref_pooled), tolerance=TOLERANCE[device.type],
    )


def path_label(path: PathRun, device) -> str:
    if path.implementation == "reference":
        return "reference (fp32, eager, cell-order batches, full MLM, NumPy pooling)"
    precision = "bf16 autocast" if device.type == "cuda" else "fp32"
    return f"grnlink ({precision}, SDPA, length-sorted, cut at the layer read, pooling on the device)"


def results_table(runs: Sequence[ModelRun], device) -> list[str]:
    cuda = device.type == "cuda"
    header = "| model | implementation | cells | s | cells/s | achieved TFLOP/s |"
    rule = "|---|---|---:|---:|---:|---:|"
    if cuda:
        header += " % of dense bf16 peak | peak GPU memory (GiB) |"
        rule += "---:|---:|"
    lines = [header, rule]
    for run in runs:
        for path in (run.reference, run.grnlink):
            line = (f"| {run.size.name} | {path_label(path, device)} | {path.cells} | {path.seconds:.2f} | "
                    f"{path.cells_per_s:.3g} | {path.tflops:.3g} |")
            if cuda:
                fraction = f"{path.peak_fraction:.1%}" if path.peak_fraction is not None else "unknown GPU"
                line += f" {fraction} | {path.peak_memory_gib:.1f} |"
            lines.append(line)
    return lines


def model_notes(run: ModelRun) -> str:
    config, lengths = run.size.config, run.lengths
    cut_short = (f" The reference reached its time budget after {run.reference.cells} of {run.cells_requested} "
                 "cells; both paths ran on those." if run.reference.cells < run.cells_requested else "")
    verdict = "agree" if run.agrees else "**DISAGREE**"
    return (
        f"- **{run.size.name}**: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
        f"{config['num_attention_heads']} heads, intermediate {config['intermediate_size']}, input "
        f"{config['max_position_embeddings']}, vocabulary {config['vocab_size']} "
        f"({'`<cls>`/`<eos>` framing' if run.size.special_tokens else 'no `<cls>`/`<eos>`'}); config: {run.size.source}. "
        f"Hidden state {run.layer_index} read; batch {run.batch_size}. Cells expressing a log-normal number of "
        f"genes (median {run.size.median_genes}): {lengths.min()}-{lengths.max()} tokens (mean {lengths.mean():.0f}; "
        f"{np.mean(lengths == config['max_position_embeddings']):.0%} fill the input); reference padding overhead "
        f"{run.reference_padding:.0%} of the real tokens; {run.gflop_per_cell:.3g} GFLOP per cell.{cut_short} Speed-up of grnlink **{run.speedup:.2f}x**; embeddings {verdict} (largest relative "
        f"error {run.error:.1e}, tolerance {run.tolerance:.0e})."
    )


def report(runs: Sequence[ModelRun], device, threads: int) -> str:
    cuda = device.type == "cuda"
    where = (f"{torch.cuda.get_device_name(device)}, fp32 matmul precision "
             f"'{torch.get_float32_matmul_precision()}'" if cuda else f"CPU, {threads} torch threads")
    lines = [f"Device: {where}; torch {torch.__version__}. Random weights, synthetic cells. Achieved TFLOP/s counts "
             "the useful model FLOPs (layers up to the one read, attention included, real tokens only).", "",
             *results_table(runs, device), "", *(model_notes(run) for run in runs)]
    lines += ["", f"1-minute load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."]
    if not cuda:
        has_gpu_run = RESULTS.exists() and f"## {GPU_SECTION}\n" in RESULTS.read_text()
        lines.append(f"GPU: see the section '{GPU_SECTION}'." if has_gpu_run else
                     "GPU run pending (no GPU was lent to this session): `.venv/bin/python bench/embed_bench.py "
                     "--device cuda --cells 2048 --write-results` measures V1 and V2 with bf16 and the fraction "
                     "of the GPU's peak.")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--model", nargs="+", choices=["v1", "v2", "tiny"],
                        help="sizes run one after another (default: v1 v2 on CUDA, v1 on CPU)")
    parser.add_argument("--cells", type=int, help="cells per size (default: 2048 on CUDA, 16 on CPU)")
    parser.add_argument("--batch-size", type=int, help="default per size: v1 64, v2 16, tiny 4")
    parser.add_argument("--layer", type=int, default=-2, help="layer read, as the pipeline's embed.layer")
    parser.add_argument("--reference-budget", type=float, default=60.0,
                        help="seconds after which the reference stops (after a batch) for each size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write-results", action="store_true", help="write the section of bench/RESULTS.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[ModelRun]:
    args = parse_args(argv)
    disable_progress_bar()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    names = args.model or (["v1", "v2"] if cuda else ["v1"])
    n_cells = args.cells or (2048 if cuda else 16)
    runs: list[ModelRun] = []
    for name in names:
        size = model_size(name)
        runs.append(bench_model(size, n_cells, args.batch_size or size.batch_size, args.layer,
                                args.reference_budget, device))
        body = report(runs, device, args.threads)
        print(f"{body}\n", flush=True)
        if args.write_results:
            update_section(GPU_SECTION if cuda else CPU_SECTION, body)
    return runs


if __name__ == "__main__":
    sys.exit(0 if all(run.agrees for run in main()) else 1)
