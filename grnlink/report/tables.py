"""Link-prediction metrics laid out as the scRegNet paper's Tables 2 and 3.

Rows are methods and variants (the label-only degree baseline among them), columns
datasets (AUROC, AUPRC, per-TF AUROC, per-TF AUPRC and EPR each), cells mean ± sd of the
test metric over seeds, on clean labels (noise 0). One table per split protocol and
gene-set size (TFs+500, TFs+1000) when the datasets say which size they use; a table never
mixes protocols.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grnlink.errors import InputError
from grnlink.io import atomic_path, read_table, write_table
from grnlink.settings import DatasetSettings, GenelinkDataset

# The figures' two panels: ranking of all test pairs together.
TEST_METRICS = {"test_auroc": "AUROC", "test_auprc": "AUPRC"}
# The table's columns per dataset, in the paper's order plus the per-TF and early-precision scores.
TABLE_METRICS = {
    **TEST_METRICS, "test_auroc_per_tf": "per-TF AUROC", "test_auprc_per_tf": "per-TF AUPRC", "test_epr": "EPR",
}
UNIT_INTERVAL_METRICS = ("test_auroc", "test_auprc", "test_auroc_per_tf", "test_auprc_per_tf")
METRICS_REQUIRED = ["dataset", "variant", "protocol", "seed", "noise", *TABLE_METRICS]
NUMERIC_COLUMNS = ["seed", "noise", *TABLE_METRICS]
ALL_GENES_GROUP = "all"
# What each split protocol (config `split.protocols`) holds out, for titles and notes.
PROTOCOL_DESCRIPTIONS = {
    "genelink": "GENELink per-TF hard-negative split",
    "tf_holdout": "test TFs unseen in training",
    "gene_holdout": "test target genes unseen in training",
}


def _first_bad_row(bad: pd.Series) -> int:
    return int(np.flatnonzero(bad.to_numpy())[0])


def read_metrics(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read `metrics.tsv`; fail naming the file (and row) when a column is missing, a
    protocol is empty, a value is not a number, a score is outside [0, 1] or EPR < 0."""
    metrics = read_table(path, required=METRICS_REQUIRED, dtype={"dataset": str, "variant": str, "protocol": str})
    if metrics.empty:
        raise InputError(path, "the metrics table has no runs")
    if metrics["protocol"].isna().any():
        raise InputError(path, "column 'protocol' is empty", line=_first_bad_row(metrics["protocol"].isna()) + 2)
    for column in NUMERIC_COLUMNS:
        values = pd.to_numeric(metrics[column], errors="coerce")
        bad = values.isna() & metrics[column].notna()
        if column in ("seed", "noise"):
            bad |= metrics[column].isna()
        if bad.any():
            row = _first_bad_row(bad)
            raise InputError(path, f"column {column!r} is not a number: {metrics[column].iloc[row]!r}", line=row + 2)
        metrics[column] = values
    for column in TABLE_METRICS:
        low, high = 0.0, (1.0 if column in UNIT_INTERVAL_METRICS else np.inf)
        outside = (metrics[column] < low) | (metrics[column] > high)
        if outside.any():
            row = _first_bad_row(outside)
            where = "outside [0, 1]" if high == 1.0 else "negative"
            raise InputError(path, f"{column} {metrics[column].iloc[row]} is {where}", line=row + 2)
    return metrics


def protocol_runs(metrics: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """The runs of one split protocol; fail naming the protocols present when it has none."""
    runs = metrics[metrics["protocol"] == protocol]
    if runs.empty:
        present = sorted(set(metrics["protocol"]))
        raise ValueError(f"no runs of split protocol {protocol!r} in the metrics table (it has {present})")
    return runs


def protocol_title(protocol: str) -> str:
    """`tf_holdout split (test TFs unseen in training)`; unknown protocols by name only."""
    description = PROTOCOL_DESCRIPTIONS.get(protocol)
    return f"{protocol} split ({description})" if description else f"{protocol} split"


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


def gene_set_size(dataset: DatasetSettings) -> int | None:
    """`n_top_genes` of a dataset, or the `TFs+N` in a GENELink folder's path (None without one)."""
    if not isinstance(dataset, GenelinkDataset):
        return dataset.n_top_genes
    match = re.search(r"TFs\+(\d+)", dataset.path)
    return int(match.group(1)) if match else None


def gene_set_groups(gene_set_sizes: Mapping[str, int | None]) -> dict[str, list[str]]:
    """Datasets grouped by gene-set size: `{"TFs+500": [...], ...}`; no size -> `all`."""
    groups: dict[str, list[str]] = {}
    for dataset, size in gene_set_sizes.items():
        name = ALL_GENES_GROUP if size is None else f"TFs+{int(size)}"
        groups.setdefault(name, []).append(dataset)
    return groups


def paper_table(
    metrics: pd.DataFrame, datasets: Sequence[str], labels: Mapping[str, str], *, protocol: str, decimals: int = 3
) -> pd.DataFrame:
    """Methods x (dataset, metric) of the clean runs of one protocol, cells `mean ± sd` over seeds.

    Columns are `<dataset> <metric>` for the metrics of `TABLE_METRICS`, in that order per
    dataset. Datasets without any clean run are reported as missing rather than dropped, so
    a table never silently loses a column.
    """
    runs = clean_runs(protocol_runs(metrics, protocol))
    runs = runs[runs["dataset"].isin(datasets)]
    if runs.empty:
        raise ValueError(f"no clean (noise 0) runs of protocol {protocol!r} for the datasets {list(datasets)}")
    variants = ordered_variants(runs["variant"].tolist(), labels)
    table = pd.DataFrame(index=pd.Index([display_label(v, labels) for v in variants], name="method"))
    for dataset in datasets:
        of_dataset = runs[runs["dataset"] == dataset]
        for column, metric in TABLE_METRICS.items():
            table[f"{dataset} {metric}"] = [
                format_mean_sd(of_dataset.loc[of_dataset["variant"] == v, column], decimals) for v in variants
            ]
    return table


def table_note(metrics: pd.DataFrame, datasets: Sequence[str], *, protocol: str) -> str:
    """What the cells and columns are, with the protocol and the number of seeds per cell."""
    runs = clean_runs(protocol_runs(metrics, protocol))
    runs = runs[runs["dataset"].isin(datasets)]
    counts = runs.groupby(["dataset", "variant"])["seed"].nunique()
    low, high = int(counts.min()), int(counts.max())
    seeds = f"{low} seed{'s' if low != 1 else ''}" if low == high else f"{low}-{high} seeds"
    return (
        f"Test pairs of the {protocol_title(protocol)}, mean ± sd over {seeds}, clean labels. "
        "AUROC and AUPRC (average precision) rank all test pairs together; per-TF AUROC/AUPRC average each "
        "test TF's own ranking of its candidate targets (TFs with both classes only); EPR is the precision "
        "among the top k test pairs (k = number of true test pairs) divided by their share (1 = random)."
    )


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
    *,
    protocol: str,
    tsv: str | os.PathLike[str],
    markdown: str | os.PathLike[str],
    html: str | os.PathLike[str],
    decimals: int = 3,
) -> pd.DataFrame:
    """Write one protocol's paper-style table as TSV (cells only), and as Markdown and HTML
    (for the Snakemake report) with the note under it; return the table."""
    table = paper_table(metrics, datasets, labels, protocol=protocol, decimals=decimals)
    note = table_note(metrics, datasets, protocol=protocol)
    write_table(table, tsv, index=True)
    with atomic_path(markdown) as tmp:
        Path(tmp).write_text(markdown_table(table, note))
    with atomic_path(html) as tmp:
        Path(tmp).write_text(html_page(table, note))
    return table
