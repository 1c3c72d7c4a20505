"""How far each method lies above the label-only degree baseline, paired by split seed.

The degree baseline scores a pair from the TF's and the target's share of positive training
pairs alone; a method's lift over it, on the same dataset, protocol and split seed, is what
the method learns beyond "well-connected genes have more edges". Only clean runs (noise 0)
are paired.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from grnlink.io import write_table
from grnlink.report.tables import clean_runs, display_label, ordered_variants, protocol_runs

LIFT_METRICS = {"test_auroc": "AUROC", "test_auprc": "AUPRC", "test_auroc_per_tf": "per-TF AUROC"}
LIFT_COLUMNS = ["dataset", "variant", "label", "metric", "n_seeds", "mean", "ci_low", "ci_high"]
CONFIDENCE = 0.95


def paired_differences(runs: pd.DataFrame, reference: str, variant: str, column: str) -> pd.DataFrame:
    """`variant - reference` per (dataset, seed) where both have a value; columns dataset, seed, delta.

    Several runs of one (dataset, seed), e.g. replicates, enter as their mean; a missing
    score (NaN, e.g. a per-TF AUROC without any TF having both classes) drops that seed.
    """
    keys = ["dataset", "seed"]
    ref = runs.loc[runs["variant"] == reference, keys + [column]].groupby(keys)[column].mean()
    var = runs.loc[runs["variant"] == variant, keys + [column]].groupby(keys)[column].mean()
    delta = (var - ref).dropna()
    return delta.rename("delta").reset_index()


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided t-interval of the mean, `mean ± t_{(1+c)/2, n-1} * sd / sqrt(n)`; NaNs for n < 2."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    mean = float(values.mean())
    return mean - half, mean + half


def lift_over_baseline(
    metrics: pd.DataFrame, *, baseline: str, labels: Mapping[str, str], protocol: str
) -> pd.DataFrame:
    """Every variant's paired difference to `baseline` on the clean runs of one protocol.

    One row per (dataset, variant, metric of `LIFT_METRICS`) with at least one seed both
    ran: `label` (display name), `metric` (the metrics-table column), `n_seeds` (pairs),
    `mean` (mean difference; > 0 = better than the baseline), `ci_low`/`ci_high` (95 %
    t-interval over the seeds; NaN with one seed). Rows follow the datasets' order of
    appearance, then the label order of the variants, then `LIFT_METRICS`.
    """
    runs = clean_runs(protocol_runs(metrics, protocol))
    if baseline not in set(runs["variant"]):
        raise ValueError(f"lift over {baseline!r}: the baseline has no clean runs of protocol {protocol!r}")
    variants = [v for v in ordered_variants(runs["variant"].tolist(), labels) if v != baseline]
    deltas = {
        (variant, column): paired_differences(runs, baseline, variant, column).groupby("dataset")["delta"]
        for variant in variants for column in LIFT_METRICS
    }
    rows = []
    for dataset in dict.fromkeys(runs["dataset"]):
        for variant in variants:
            for column in LIFT_METRICS:
                by_dataset = deltas[(variant, column)]
                if dataset not in by_dataset.groups:
                    continue
                values = by_dataset.get_group(dataset).to_numpy()
                low, high = t_interval(values)
                rows.append((dataset, variant, display_label(variant, labels), column, len(values),
                             float(values.mean()), low, high))
    if not rows:
        raise ValueError(f"lift over {baseline!r}: no variant shares a split seed with it in protocol {protocol!r}")
    return pd.DataFrame(rows, columns=LIFT_COLUMNS)


def write_lift_table(
    metrics: pd.DataFrame, *, baseline: str, labels: Mapping[str, str], protocol: str, tsv: str | os.PathLike[str]
) -> pd.DataFrame:
    """Write `lift_over_baseline` as TSV (empty cells where one seed gives no interval); return it."""
    lift = lift_over_baseline(metrics, baseline=baseline, labels=labels, protocol=protocol)
    write_table(lift, tsv)
    return lift
