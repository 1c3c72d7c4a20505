"""Geneformer's rank-value encoding of single cells.

Each cell's counts are divided by the cell's total count (over all genes) and scaled to
10,000, then divided by the gene's non-zero median over the pretraining corpus; the
expressed genes are sorted by that value, descending, and written as their token ids.
V1 models take the first 2048 tokens; V2 models (token dictionaries with `<cls>` and
`<eos>`) take the first 4094 and frame them as `<cls> ... <eos>`.

Ties are broken by the column order of the input (a stable sort), so the encoding is
deterministic; Geneformer's `np.argsort` leaves tie order to the sort algorithm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

PAD, MASK, CLS, EOS = "<pad>", "<mask>", "<cls>", "<eos>"
TARGET_SUM = 10_000.0


@dataclass(frozen=True)
class GeneColumns:
    """How the columns of an expression matrix map onto the model's gene tokens.

    `aggregate` (genes x model genes, 0/1) sums the columns that map to the same model gene
    (Geneformer collapses duplicate Ensembl ids the same way); columns the model does not
    know map nowhere. `tokens` and `medians` describe the model genes, in `aggregate`'s
    column order.
    """

    aggregate: sp.csr_matrix
    tokens: np.ndarray
    medians: np.ndarray


def has_special_tokens(token_dictionary: Mapping[str, int]) -> bool:
    """True for V2-style dictionaries, whose sequences are framed as `<cls> ... <eos>`."""
    return CLS in token_dictionary and EOS in token_dictionary


def gene_columns(
    gene_keys: Sequence[str | None],
    token_dictionary: Mapping[str, int],
    gene_medians: Mapping[str, float],
) -> GeneColumns:
    """Match the matrix columns (as model gene ids, None = unmapped) to model tokens.

    A gene is usable when it has both a token and a median, as in Geneformer.
    """
    model_genes: dict[str, int] = {}
    rows, cols = [], []
    for column, key in enumerate(gene_keys):
        if key is None or key not in token_dictionary or key not in gene_medians:
            continue
        rows.append(column)
        cols.append(model_genes.setdefault(key, len(model_genes)))
    aggregate = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(gene_keys), len(model_genes))
    )
    keys = list(model_genes)
    tokens = np.array([token_dictionary[k] for k in keys], dtype=np.int64)
    medians = np.array([gene_medians[k] for k in keys], dtype=np.float64)
    return GeneColumns(aggregate=aggregate, tokens=tokens, medians=medians)


def normalised_expression(counts: np.ndarray | sp.spmatrix, columns: GeneColumns) -> sp.csr_matrix:
    """Cells x model genes: counts / cell total * 10,000 / gene median (sparse)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    scale = np.divide(TARGET_SUM, totals, out=np.zeros_like(totals), where=totals > 0)
    per_gene = (counts @ columns.aggregate).tocsr()
    normalised = sp.diags(scale) @ per_gene @ sp.diags(1.0 / columns.medians)
    normalised = sp.csr_matrix(normalised)
    normalised.eliminate_zeros()
    normalised.sort_indices()
    return normalised


def rank_value_tokens(values: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Tokens of the non-zero values, highest value first (ties: input order)."""
    nonzero = np.flatnonzero(values)
    order = np.argsort(-values[nonzero], kind="stable")
    return tokens[nonzero[order]]


def frame(ranked: np.ndarray, token_dictionary: Mapping[str, int], model_input_size: int) -> np.ndarray:
    """Truncate to the model's input size; V2 dictionaries add `<cls>` and `<eos>`."""
    if has_special_tokens(token_dictionary):
        body = ranked[: model_input_size - 2]
        return np.concatenate(([token_dictionary[CLS]], body, [token_dictionary[EOS]])).astype(np.int64)
    return ranked[:model_input_size].astype(np.int64)


def tokenize_cells(
    counts: np.ndarray | sp.spmatrix,
    columns: GeneColumns,
    token_dictionary: Mapping[str, int],
    model_input_size: int,
) -> list[np.ndarray]:
    """One token sequence per cell (row of `counts`), ready for the model."""
    normalised = normalised_expression(counts, columns)
    sequences = []
    for row in range(normalised.shape[0]):
        start, end = normalised.indptr[row], normalised.indptr[row + 1]
        ranked = rank_value_tokens(normalised.data[start:end], columns.tokens[normalised.indices[start:end]])
        sequences.append(frame(ranked, token_dictionary, model_input_size))
    return sequences
