"""Geneformer-style checkpoints: an HF `BertForMaskedLM` directory plus two dictionaries.

A checkpoint directory holds `config.json` and the weights (as written by
`save_pretrained`); the token dictionary (gene id -> token id, with `<pad>` and `<mask>`,
and `<cls>`/`<eos>` for V2) and the gene median dictionary (gene id -> non-zero median of
the normalised expression) are pickles, by default `token_dictionary.pkl` and
`gene_median_dictionary.pkl` inside the directory; Geneformer ships them separately, so
both paths can be given (the workflow's `backend: geneformer` defaults to Geneformer V1's,
shipped in resources/geneformer/). `load_checkpoint` checks, before any extraction, that
the directory holds weights, that the dictionaries map str -> int token ids and str ->
positive medians, and that the token ids fit the model's vocabulary, naming the file.

Gene symbols of the data map to the model's gene ids (Ensembl ids for Geneformer) through
an optional table: a two-column TSV `symbol, gene_id` or a pickled dict such as
Geneformer's `gene_name_id_dict`. Symbols are matched case-insensitively, because mouse
symbols are upper-cased in the preprocessed object. Without a table the data's gene names
are the model's gene ids (the self-pretrained model).
"""

from __future__ import annotations

import json
import numbers
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grnlink.errors import InputError
from grnlink.io import atomic_path, write_json
from grnlink.embed.tokenizer import MASK, PAD, has_special_tokens

TOKEN_DICTIONARY_FILE = "token_dictionary.pkl"
GENE_MEDIAN_FILE = "gene_median_dictionary.pkl"
PRETRAINING_FILE = "pretraining.json"  # how a self-pretrained checkpoint was made
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class Checkpoint:
    """A model directory with its dictionaries, read and checked."""

    model_dir: Path
    token_dictionary: dict[str, int]
    gene_medians: dict[str, float]
    model_input_size: int
    num_layers: int
    hidden_size: int

    @property
    def special_tokens(self) -> bool:
        return has_special_tokens(self.token_dictionary)

    @property
    def pad_id(self) -> int:
        return self.token_dictionary[PAD]

    def knows(self, gene_keys: Sequence[str | None]) -> np.ndarray:
        """Per model gene id (None = unmapped), whether it has both a token and a median."""
        return np.array([k is not None and k in self.token_dictionary and k in self.gene_medians
                         for k in gene_keys], dtype=bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_positive_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) > 0


def _read_pickled_dict(path: Path, what: str, values: Callable[[object], bool], expected: str) -> dict[str, Any]:
    """A pickled non-empty dict of str -> values passing `values` (`expected` names them in errors)."""
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    try:
        with path.open("rb") as handle:
            value = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise InputError(path, f"{what} is not a readable pickle: {err}") from err
    if not isinstance(value, dict) or not value:
        raise InputError(path, f"{what} must be a non-empty dict of str -> {expected}, found {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not values(item):
            raise InputError(path, f"{what} must map str -> {expected}; found {key!r} -> {item!r}")
    return value


def check_weights(model_dir: Path) -> None:
    """A checkpoint directory must hold weights as `save_pretrained` writes them."""
    if not any((model_dir / name).is_file() for name in WEIGHT_FILES):
        raise InputError(model_dir, f"no model weights ({' or '.join(WEIGHT_FILES[:2])}): for Geneformer, "
                         "download the model folder from Hugging Face ctheodoris/Geneformer (git lfs)")


def load_checkpoint(
    model_dir: str | os.PathLike[str],
    token_dictionary: str | os.PathLike[str] | None = None,
    gene_median_dictionary: str | os.PathLike[str] | None = None,
) -> Checkpoint:
    """Read and check a checkpoint; dictionary paths default to the files in `model_dir`."""
    model_dir = Path(model_dir)
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise InputError(config_path, "model config not found: expected an HF BertForMaskedLM checkpoint directory")
    config = json.loads(config_path.read_text())
    if config.get("model_type") != "bert":
        raise InputError(config_path, f"model_type is {config.get('model_type')!r}; only BERT (Geneformer) is supported")
    check_weights(model_dir)
    token_path = Path(token_dictionary) if token_dictionary else model_dir / TOKEN_DICTIONARY_FILE
    median_path = Path(gene_median_dictionary) if gene_median_dictionary else model_dir / GENE_MEDIAN_FILE
    tokens = _read_pickled_dict(token_path, "token dictionary", _is_integer, "int (token id)")
    medians = _read_pickled_dict(median_path, "gene median dictionary", _is_positive_number, "positive number")
    missing = [t for t in (PAD, MASK) if t not in tokens]
    if missing:
        raise InputError(token_path, f"token dictionary lacks the special token(s) {missing}")
    vocab_size = config["vocab_size"]
    if len(tokens) > vocab_size or max(tokens.values()) >= vocab_size:
        raise InputError(token_path, f"{len(tokens)} tokens with ids up to {max(tokens.values())} do not fit the "
                         f"model's vocab_size {vocab_size} ({config_path}): dictionary and checkpoint do not match")
    return Checkpoint(
        model_dir=model_dir,
        token_dictionary={str(k): int(v) for k, v in tokens.items()},
        gene_medians={str(k): float(v) for k, v in medians.items()},
        model_input_size=int(config["max_position_embeddings"]),
        num_layers=int(config["num_hidden_layers"]),
        hidden_size=int(config["hidden_size"]),
    )


def load_masked_lm(checkpoint: Checkpoint, attn_implementation: str = "sdpa"):
    """The checkpoint's `BertForMaskedLM` in float32, in evaluation mode."""
    import torch
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(
        checkpoint.model_dir, attn_implementation=attn_implementation, dtype=torch.float32
    )
    return model.eval()


def save_checkpoint(
    model: Any,
    token_dictionary: Mapping[str, int],
    gene_medians: Mapping[str, float],
    out_dir: str | os.PathLike[str],
    metadata: Mapping[str, Any],
) -> None:
    """Write model, both dictionaries and `metadata` (`PRETRAINING_FILE`) as one directory, atomically."""
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp)
        with (tmp / TOKEN_DICTIONARY_FILE).open("wb") as handle:
            pickle.dump(dict(token_dictionary), handle)
        with (tmp / GENE_MEDIAN_FILE).open("wb") as handle:
            pickle.dump(dict(gene_medians), handle)
        write_json(dict(metadata), tmp / PRETRAINING_FILE)


def read_gene_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """Symbol -> model gene id from a `.pkl` dict or a TSV with columns `symbol, gene_id`."""
    path = Path(path)
    if path.suffix == ".pkl":
        raw = _read_pickled_dict(path, "gene mapping table", lambda value: isinstance(value, str), "str (gene id)")
        pairs = list(raw.items())
    else:
        if not path.is_file():
            raise InputError(path, "gene mapping table not found")
        table = pd.read_csv(path, sep="\t", dtype=str)
        missing = [c for c in ("symbol", "gene_id") if c not in table.columns]
        if missing:
            raise InputError(path, f"gene mapping table lacks column(s) {missing}; found {list(table.columns)}")
        table = table.dropna(subset=["symbol", "gene_id"])
        pairs = list(zip(table["symbol"], table["gene_id"]))
    mapping: dict[str, str] = {}
    for symbol, gene_id in pairs:
        mapping.setdefault(symbol.upper(), gene_id)
    return mapping


def model_gene_keys(symbols: Sequence[str], mapping: Mapping[str, str] | None) -> list[str | None]:
    """The model gene id of each symbol (None when unmapped); identity without a table."""
    if mapping is None:
        return list(symbols)
    return [mapping.get(s.upper()) for s in symbols]
