"""Speed of the embed stage's extraction: this implementation vs a plain reference, same run.

A random-initialised Geneformer-architecture checkpoint of fixed size and synthetic cells
with a spread of expressed-gene counts (Geneformer-like sequences) are embedded twice:

- grnlink: `grnlink.embed.extract.pool_hidden_states` (encoder cut after the layer read,
  length-sorted batches, SDPA attention, bf16 autocast on CUDA, pooling on the device);
- reference: the full `BertForMaskedLM` in float32 with eager attention,
  `output_hidden_states=True`, batches in cell order padded to their longest sequence,
  pooling in NumPy (what a straightforward Geneformer embedding script does).

Both pool the same layer over the same cells; the script checks that the embeddings agree.
Model FLOPs per cell count the matrix products of the encoder up to the layer read, over
the real (unpadded) tokens. On CUDA the achieved fraction of the GPU's dense bf16 peak is
reported too.

    .venv/bin/python bench/embed_bench.py [--device auto] [--cells 256] [--genes 1024] [--layers 4] [--hidden 128]

On a GPU, a Geneformer-like size: --device cuda --cells 4096 --genes 2046 --layers 12 --hidden 512
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the pipeline's embed jobs run (before torch loads)
import torch  # noqa: E402
from transformers import BertConfig, BertForMaskedLM  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

from grnlink.embed.checkpoint import (  # noqa: E402
    GENE_MEDIAN_FILE, TOKEN_DICTIONARY_FILE, load_checkpoint, load_masked_lm,
)
from grnlink.embed.extract import (  # noqa: E402
    hidden_state_index, pad_batch, pick_device, pool_hidden_states, truncated_encoder,
)
from grnlink.embed.tokenizer import gene_columns, tokenize_cells  # noqa: E402

DENSE_BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense tensor-core FLOP/s (SXM)


def make_checkpoint(path: Path, n_genes: int, layers: int, hidden: int, input_size: int) -> Path:
    tokens = {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, **{f"G{i}": i + 4 for i in range(n_genes)}}
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokens), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=max(1, hidden // 64), intermediate_size=2 * hidden,
                        max_position_embeddings=input_size, hidden_act="relu", pad_token_id=0)
    BertForMaskedLM(config).save_pretrained(path)
    (path / TOKEN_DICTIONARY_FILE).write_bytes(pickle.dumps(tokens))
    (path / GENE_MEDIAN_FILE).write_bytes(pickle.dumps({f"G{i}": 1.0 for i in range(n_genes)}))
    return path


def synthetic_counts(n_cells: int, n_genes: int, min_expressed: int, rng: np.random.Generator) -> np.ndarray:
    """Cells expressing between `min_expressed` and all genes (uniform), Poisson counts."""
    counts = np.zeros((n_cells, n_genes), dtype=np.float32)
    for row, n in enumerate(rng.integers(min_expressed, n_genes + 1, size=n_cells)):
        genes = rng.choice(n_genes, size=n, replace=False)
        counts[row, genes] = rng.poisson(3.0, size=n) + 1
    return counts


def reference_pool(model, sequences, groups, n_groups, token_slots, n_slots, index, batch_size, device, pad_id):
    """Plain extraction: full MLM model, eager fp32, cell-order batches, NumPy pooling."""
    hidden_size = model.config.hidden_size
    sums = np.zeros((n_groups, n_slots, hidden_size))
    counts = np.zeros((n_groups, n_slots), dtype=np.int64)
    model = model.to(device).eval()
    with torch.no_grad():
        for start in range(0, len(sequences), batch_size):
            batch = sequences[start : start + batch_size]
            ids, mask = pad_batch(batch, pad_id)
            out = model(input_ids=torch.from_numpy(ids).to(device), attention_mask=torch.from_numpy(mask).to(device),
                        output_hidden_states=True)
            states = out.hidden_states[index].cpu().numpy()
            for row, seq in enumerate(batch):
                group = groups[start + row]
                for position, token in enumerate(seq):
                    slot = token_slots[token]
                    if slot >= 0:
                        sums[group, slot] += states[row, position]
                        counts[group, slot] += 1
    return sums, counts


def model_flops_per_cell(lengths: np.ndarray, layers: int, hidden: int, intermediate: int) -> float:
    """Matrix-product FLOPs of `layers` BERT layers over the real tokens (mean per cell)."""
    linear = 2 * (4 * hidden * hidden + 2 * hidden * intermediate) * lengths
    attention = 2 * 2 * lengths.astype(np.float64) ** 2 * hidden
    return float(np.mean(layers * (linear + attention)))


def timed(fn, device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--cells", type=int, default=256)
    parser.add_argument("--genes", type=int, default=1024)
    parser.add_argument("--min-expressed", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--layer", type=int, default=-2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    input_size = args.genes + 2

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = load_checkpoint(make_checkpoint(Path(tmp) / "model", args.genes, args.layers, args.hidden,
                                                     input_size))
        counts = synthetic_counts(args.cells, args.genes, args.min_expressed, rng)
        tokens = checkpoint.token_dictionary
        columns = gene_columns([f"G{i}" for i in range(args.genes)], tokens, checkpoint.gene_medians)
        sequences = tokenize_cells(counts, columns, tokens, checkpoint.model_input_size)
        groups = rng.integers(0, 4, size=args.cells)
        token_slots = np.full(len(tokens), -1, dtype=np.int64)
        token_slots[4:] = np.arange(args.genes)
        index = hidden_state_index(args.layer, args.layers)

        ours = truncated_encoder(load_masked_lm(checkpoint, "sdpa"), index)
        reference = load_masked_lm(checkpoint, "eager")
        run_ours = lambda: pool_hidden_states(ours, sequences, groups, 4, token_slots, args.genes, args.batch_size,
                                              device, checkpoint.pad_id)
        run_reference = lambda: reference_pool(reference, sequences, groups, 4, token_slots, args.genes, index,
                                               args.batch_size, device, checkpoint.pad_id)
        few = sequences[: args.batch_size]
        pool_hidden_states(ours, few, groups, 4, token_slots, args.genes, args.batch_size, device, checkpoint.pad_id)
        reference_pool(reference, few, groups, 4, token_slots, args.genes, index, args.batch_size, device,
                       checkpoint.pad_id)
        ours_s, pooled = timed(run_ours, device)
        reference_s, (ref_sums, ref_counts) = timed(run_reference, device)

    assert np.array_equal(pooled.counts, ref_counts)
    seen = ref_counts > 0
    ref_mean = ref_sums[seen] / ref_counts[seen][:, None]
    our_mean = pooled.sums[seen] / pooled.counts[seen][:, None]
    max_diff = float(np.abs(ref_mean - our_mean).max())

    lengths = np.array([len(s) for s in sequences])
    flops = model_flops_per_cell(lengths, index, args.hidden, 2 * args.hidden)
    ours_rate, ref_rate = args.cells / ours_s, args.cells / reference_s
    padded_ref = sum(len(b) * max(len(s) for s in b) for b in
                     (sequences[i : i + args.batch_size] for i in range(0, len(sequences), args.batch_size)))
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    lines = [
        f"Device: {device_name} ({args.threads} torch threads on CPU). Model: {args.layers} layers, hidden "
        f"{args.hidden}, {max(1, args.hidden // 64)} heads, intermediate {2 * args.hidden}, input size {input_size}; "
        f"hidden state {index} read. {args.cells} cells with {lengths.min()}-{lengths.max()} tokens "
        f"(mean {lengths.mean():.0f}), batch {args.batch_size}; reference padding overhead "
        f"{padded_ref / lengths.sum() - 1:.0%} of the real tokens.",
        "",
        "| implementation | s | cells/s | achieved GFLOP/s |",
        "|---|---:|---:|---:|",
        f"| reference (fp32, eager, cell-order batches, full MLM) | {reference_s:.2f} | {ref_rate:.1f} | "
        f"{flops * ref_rate / 1e9:.1f} |",
        f"| grnlink ({'bf16 autocast, ' if device.type == 'cuda' else 'fp32, '}SDPA, length-sorted, cut at the "
        f"layer read) | {ours_s:.2f} | {ours_rate:.1f} | {flops * ours_rate / 1e9:.1f} |",
        "",
        f"Speed-up **{ours_rate / ref_rate:.2f}x**; model FLOPs per cell (layers up to the one read, real tokens): "
        f"{flops / 1e9:.3f} GFLOP; max |difference| of the pooled embeddings: {max_diff:.2e}.",
    ]
    peak = next((v for k, v in DENSE_BF16_PEAK.items() if k in device_name), None)
    if peak:
        lines.append(f"Achieved fraction of the {device_name} dense bf16 peak ({peak / 1e12:.0f} TFLOP/s): "
                     f"{flops * ours_rate / peak:.2%}.")
    lines.append(f"1-minute load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                 "(other jobs shared the machine; both implementations ran under the same load).")
    if device.type != "cuda":
        lines.append("No GPU was available for this run; the GPU numbers (bf16, fraction of peak, the 3x target) "
                     "are still to be measured with `--device cuda` on a GPU machine.")
    body = "\n".join(lines)
    print(body)
    if not args.no_record:
        update_section(f"Embedding extraction ({'GPU' if device.type == 'cuda' else 'CPU'}, issue 6)", body)


if __name__ == "__main__":
    main()
