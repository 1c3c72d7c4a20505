"""What the foundation model saw of each dataset, and how well the self-pretraining learned.

Read from the embed stage's outputs: each embeddings file's `uns["embed"]` (model name,
`inputs` and `warnings`, grnlink.embed.extract.EmbeddingInputs) and, for the self-pretrained
model, the checkpoint's `pretraining.json` (held-out masked-token loss and accuracy against
uniform chance and the gene-frequency prior, grnlink.embed.pretrain).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from grnlink.embed.checkpoint import PRETRAINING_FILE
from grnlink.errors import InputError
from grnlink.io import atomic_path, write_table
from grnlink.report.tables import markdown_table

INPUT_COLUMNS = {
    "model_name": "model",
    "ranked_on": "ranked on",
    "n_genes": "genes in the data",
    "n_benchmark_genes": "benchmark genes",
    "mapped_share": "mapped to model ids",
    "known_share": "known to the model",
    "n_benchmark_known": "benchmark genes known",
    "tokens_per_cell": "gene tokens per cell (median)",
    "model_input_size": "input size",
}


def read_embedding_inputs(path: str | os.PathLike[str]) -> tuple[dict[str, object], list[str]]:
    """One embeddings file's input record (with its model name) and warnings."""
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    embed = ad.read_h5ad(path).uns.get("embed", {})
    if "inputs" not in embed:
        raise InputError(path, "uns['embed'] has no 'inputs' record: rerun the embed rule")
    return {"model_name": embed.get("model_name", ""), **dict(embed["inputs"])}, [str(w) for w in embed.get("warnings", [])]


def embedding_inputs_table(paths: Sequence[str | os.PathLike[str]], datasets: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Per dataset (rows) what the model saw (`INPUT_COLUMNS`), and the warnings as
    `dataset: warning` lines."""
    rows, warnings = {}, []
    for path, name in zip(paths, datasets, strict=True):
        record, problems = read_embedding_inputs(path)
        rows[name] = {label: record.get(key, "") for key, label in INPUT_COLUMNS.items()}
        warnings += [f"{name}: {problem}" for problem in problems]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "dataset"
    for column in ("mapped to model ids", "known to the model"):
        table[column] = [f"{float(v):.1%}" for v in table[column]]
    return table, warnings


def read_pretraining_record(model_dir: str | os.PathLike[str]) -> dict:
    """A self-pretrained checkpoint's record (`PRETRAINING_FILE`): settings, sizes and history."""
    path = Path(model_dir) / PRETRAINING_FILE
    if not path.exists():
        raise InputError(path, "file not found")
    return json.loads(path.read_text())


def pretraining_table(history: Mapping[str, Any]) -> pd.DataFrame:
    """Held-out masked-token loss and accuracy of the self-pretrained model before and after
    its pretraining, beside uniform chance and the gene-frequency prior."""
    rows = {"before pretraining": history["before"], "after pretraining": history["after"],
            "uniform chance": history["uniform_chance"], "gene-frequency prior": history["frequency_prior"]}
    table = pd.DataFrame({name: {"held-out loss (nats)": f"{row['loss']:.3f}",
                                 "held-out accuracy": f"{row['accuracy']:.3f}"} for name, row in rows.items()}).T
    table.index.name = "masked-token prediction"
    return table


def pretraining_note(history: Mapping[str, Any]) -> str:
    margin = history["beats_frequency_prior_by"]
    verdict = (f"beats the gene-frequency prior by {margin:.3f} nats" if margin > 0 else
               f"does NOT beat the gene-frequency prior ({-margin:.3f} nats above it)")
    return (f"Self-pretraining on {history['held_out_cells']} held-out cells ({history['held_out_tokens']} masked "
            f"tokens): stopped by {history['stopped_by']} after {history['steps_run']} steps, weights of step "
            f"{history['best_step']} kept; the model {verdict}.")


def write_embedding_report(
    paths: Sequence[str | os.PathLike[str]], datasets: Sequence[str], *,
    tsv: str | os.PathLike[str], markdown: str | os.PathLike[str],
    model_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """The inputs table as TSV, and as Markdown with its warnings under it and, for the
    self-pretrained model in `model_dir`, its pretraining record as a second table."""
    table, warnings = embedding_inputs_table(paths, datasets)
    note = ("What the embedding model saw of each dataset's cells. Genes the model does not know are left out of "
            "every cell's ranking; benchmark genes it does not know get zero vectors.")
    if warnings:
        note += "\n\nWarnings:\n\n" + "\n".join(f"- {w}" for w in warnings)
    text = markdown_table(table, note)
    if model_dir is not None:
        history = read_pretraining_record(model_dir)["history"]
        text += "\n" + markdown_table(pretraining_table(history), pretraining_note(history))
    write_table(table, tsv, index=True)
    with atomic_path(markdown) as tmp:
        Path(tmp).write_text(text)
    return table
