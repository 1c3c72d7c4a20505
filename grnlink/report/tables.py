"""Link-prediction metrics laid out as the scRegNet paper's Tables 2 and 3.

Rows are methods and variants, columns datasets (an AUROC and an AUPRC column each), cells
mean ± sd of the test metric over seeds, on clean labels (noise 0). One table per gene-set
size (TFs+500, TFs+1000) when the datasets say which size they use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grnlink.errors import InputError
from grnlink.io import atomic_path, read_table, write_table

METRICS_REQUIRED = ["dataset", "variant", "seed", "noise", "test_auroc", "test_auprc"]
NUMERIC_COLUMNS = ["seed", "noise", "test_auroc", "test_auprc"]
TEST_METRICS = {"test_auroc": "AUROC", "test_auprc": "AUPRC"}
ALL_GENES_GROUP = "all"


def read_metrics(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read `metrics.tsv`; fail naming the file and row when a value is not a number."""
    metrics = read_table(path, required=METRICS_REQUIRED, dtype={"dataset": str, "variant": str})
    if metrics.empty:
        raise InputError(path, "the metrics table has no runs")
    for column in NUMERIC_COLUMNS:
        values = pd.to_numeric(metrics[column], errors="coerce")
        bad = values.isna() & metrics[column].notna()
        if column in ("seed", "noise"):
            bad |= metrics[column].isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, f"column {column!r} is not a number: {metrics[column].iloc[row]!r}", line=row + 2)
        metrics[column] = values
    for column in TEST_METRICS:
        outside = (metrics[column] < 0) | (metrics[column] > 1)
        if outside.any():
            row = int(np.flatnonzero(outside.to_numpy())[0])
            raise InputError(path, f"{column} {metrics[column].iloc[row]} is outside [0, 1]", line=row + 2)
    return metrics


def clean_runs(metrics: pd.DataFrame) -> pd.DataFrame:
    """The runs trained on uncorrupted labels."""
    return metrics[metrics["noise"] == 0]


def ordered_variants(variants: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    """Variants in the order of the label mapping; variants it lacks follow, sorted."""
    present = list(dict.fromkeys(variants))
    known = [v for v in labels if v in present]
    return known + sorted(v for v in present if v not in labels)


def display_label(variant: str, labels: Mapping[str, str]) -> str:
    return labels.get(variant, variant)


def format_mean_sd(values: pd.Series, decimals: int) -> str:
    """`mean ± sd` of the non-missing values (`mean` alone for one value, `n/a` for none)."""
    values = values.dropna()
    if values.empty:
        return "n/a"
    if len(values) == 1:
        return f"{values.iloc[0]:.{decimals}f}"
    return f"{values.mean():.{decimals}f} ± {values.std(ddof=1):.{decimals}f}"


def gene_set_size(dataset_config: Mapping[str, Any]) -> int | None:
    """`n_top_genes` of a dataset's config, else the `TFs+N` in its path (GENELink folders)."""
    if dataset_config.get("n_top_genes") is not None:
        return int(dataset_config["n_top_genes"])
    match = re.search(r"TFs\+(\d+)", str(dataset_config.get("path", "")))
    return int(match.group(1)) if match else None


def gene_set_groups(gene_set_sizes: Mapping[str, int | None]) -> dict[str, list[str]]:
    """Datasets grouped by gene-set size: `{"TFs+500": [...], ...}`; no size -> `all`."""
    groups: dict[str, list[str]] = {}
    for dataset, size in gene_set_sizes.items():
        name = ALL_GENES_GROUP if size is None else f"TFs+{int(size)}"
        groups.setdefault(name, []).append(dataset)
    return groups


def paper_table(
    metrics: pd.DataFrame, datasets: Sequence[str], labels: Mapping[str, str], decimals: int = 3
) -> pd.DataFrame:
    """Methods x (dataset, metric) of clean runs, cells `mean ± sd` over seeds.

    Datasets without any clean run are reported as missing rather than dropped, so a
    table never silently loses a column.
    """
    runs = clean_runs(metrics)
    runs = runs[runs["dataset"].isin(datasets)]
    if runs.empty:
        raise ValueError(f"no clean (noise 0) runs for the datasets {list(datasets)}")
    variants = ordered_variants(runs["variant"].tolist(), labels)
    table = pd.DataFrame(index=pd.Index([display_label(v, labels) for v in variants], name="method"))
    for dataset in datasets:
        of_dataset = runs[runs["dataset"] == dataset]
        for column, metric in TEST_METRICS.items():
            table[f"{dataset} {metric}"] = [
                format_mean_sd(of_dataset.loc[of_dataset["variant"] == v, column], decimals) for v in variants
            ]
    return table


def seed_count_note(metrics: pd.DataFrame, datasets: Sequence[str]) -> str:
    """One line saying what the cells are, with the number of seeds per cell."""
    runs = clean_runs(metrics)
    runs = runs[runs["dataset"].isin(datasets)]
    counts = runs.groupby(["dataset", "variant"])["seed"].nunique()
    low, high = int(counts.min()), int(counts.max())
    seeds = f"{low} seed{'s' if low != 1 else ''}" if low == high else f"{low}-{high} seeds"
    return f"Test-split AUROC and AUPRC (average precision), mean ± sd over {seeds}, clean labels."


def _markdown_cell(value: object) -> str:
    return str(value).replace("|", "\\|")  # a bare pipe would end the cell (|Pearson|)


def markdown_table(table: pd.DataFrame, note: str) -> str:
    """A GitHub-flavoured Markdown table with the index as first column, then the note."""
    header = [table.index.name or ""] + list(table.columns)
    lines = [
        "| " + " | ".join(map(_markdown_cell, header)) + " |",
        "|" + "|".join(["---"] + [":---:"] * len(table.columns)) + "|",
    ]
    for label, row in table.iterrows():
        lines.append("| " + " | ".join(_markdown_cell(v) for v in [label, *row]) + " |")
    return "\n".join(lines) + f"\n\n{note}\n"


HTML_STYLE = (
    "body{font-family:sans-serif} table{border-collapse:collapse}"
    " th,td{padding:4px 10px;border-bottom:1px solid #ccc;text-align:center} th:first-child{text-align:left}"
)


def html_page(table: pd.DataFrame, note: str) -> str:
    """A stand-alone HTML page with the table (the Snakemake report shows it inline)."""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><style>{HTML_STYLE}</style></head><body>\n'
        f"{table.to_html(border=0)}\n<p>{note}</p>\n</body></html>\n"
    )


def write_paper_tables(
    metrics: pd.DataFrame,
    datasets: Sequence[str],
    labels: Mapping[str, str],
    tsv: str | os.PathLike[str],
    markdown: str | os.PathLike[str],
    html: str | os.PathLike[str],
    decimals: int = 3,
) -> pd.DataFrame:
    """Write one paper-style table as TSV, Markdown and HTML (for the Snakemake report)."""
    table = paper_table(metrics, datasets, labels, decimals)
    note = seed_count_note(metrics, datasets)
    write_table(table, tsv, index=True)
    with atomic_path(markdown) as tmp:
        Path(tmp).write_text(markdown_table(table, note))
    with atomic_path(html) as tmp:
        Path(tmp).write_text(html_page(table, note))
    return table
