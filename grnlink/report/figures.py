"""The papers' figures, drawn from a run's metrics and GRN outputs.

Every function returns a matplotlib `Figure` (object-oriented API, no pyplot state) and
`save_figure` writes it as PNG and SVG. Metrics are unitless scores in [0, 1]; the axes say
so; noise levels are percent of flipped training labels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from grnlink.io import atomic_path
from grnlink.report.curves import PRCurve
from grnlink.report.tables import TEST_METRICS, clean_runs, display_label

PALETTE = ("#1b6ca8", "#e07b39", "#3a9d5d", "#c23b3b", "#8560a8", "#8c6d31", "#d46fb0", "#6b6b6b", "#b5b82e", "#2bb3c0")
SEED_POINT = dict(s=12, color="black", alpha=0.6, zorder=3, linewidths=0)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def colour_map(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, the same in every panel of a figure."""
    return {name: colour(i) for i, name in enumerate(dict.fromkeys(names))}


def _figure_legend(fig: Figure, colours: Mapping[str, str], labels: Mapping[str, str], title: str) -> None:
    """One legend for all panels, below them, so it never hides data."""
    handles = [Patch(facecolor=c, label=display_label(name, labels)) for name, c in colours.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=9, title=title)


def _bar_panels(n_groups: int, n_datasets: int) -> tuple[Figure, np.ndarray]:
    """Axes `[group, metric]` for bar charts over datasets: AUROC and AUPRC side by side
    for a few datasets, stacked (one wide panel per metric) for many."""
    if n_datasets <= 3:
        fig = Figure(figsize=(max(11.0, 4.0 + 2.6 * n_datasets), 3.9 * n_groups + 0.9), layout="constrained")
        return fig, fig.subplots(n_groups, 2, squeeze=False)
    fig = Figure(figsize=(min(24.0, 3.0 + 1.4 * n_datasets), 3.6 * 2 * n_groups + 0.9), layout="constrained")
    return fig, fig.subplots(2 * n_groups, 1, squeeze=False).reshape(n_groups, 2)


def metric_axis_label(column: str) -> str:
    return f"test {TEST_METRICS[column]} (unitless, 0-1)"


def _require_variants(runs: pd.DataFrame, variants: Sequence[str], what: str) -> list[str]:
    present = [v for v in variants if v in set(runs["variant"])]
    if not present:
        raise ValueError(f"{what}: none of the variants {list(variants)} has runs in the metrics table")
    return present


def _spread(n: int, width: float) -> np.ndarray:
    """Deterministic horizontal offsets for `n` seed points within `width`."""
    return np.zeros(n) if n == 1 else np.linspace(-width / 2, width / 2, n)


def _grouped_bars(
    ax: Axes, runs: pd.DataFrame, column: str, datasets: Sequence[str], variants: Sequence[str],
    colours: Mapping[str, str],
) -> None:
    """Bars of the mean per (dataset, variant), sd as error bar, one dot per seed."""
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        for j, dataset in enumerate(datasets):
            values = runs.loc[(runs["dataset"] == dataset) & (runs["variant"] == variant), column].dropna()
            if values.empty:
                continue
            _bar_with_seeds(ax, j - 0.4 + width * (i + 0.5), values, width, colours[variant])
    ax.set_xticks(range(len(datasets)), datasets)
    ax.set_xlabel("dataset")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _bar_with_seeds(ax: Axes, x: float, values: pd.Series, width: float, colour: str) -> None:
    """One bar of the mean with the sd as error bar, and a dot per seed."""
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    ax.bar(x, values.mean(), width * 0.9, yerr=sd, capsize=3, color=colour)
    ax.scatter(x + _spread(len(values), width * 0.5), values, **SEED_POINT)


def ablation_figure(metrics: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Full model vs its ablations (e.g. without GNN, without embedding), AUROC and AUPRC."""
    runs = clean_runs(metrics)
    variants = _require_variants(runs, variants, "ablation figure")
    datasets = list(dict.fromkeys(runs.loc[runs["variant"].isin(variants), "dataset"]))
    fig, axes = _bar_panels(1, len(datasets))
    colours = colour_map(variants)
    for ax, column in zip(axes[0], TEST_METRICS):
        _grouped_bars(ax, runs, column, datasets, variants, colours)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(metric_axis_label(column))
        ax.set_title(f"test {TEST_METRICS[column]}")
    _figure_legend(fig, colours, labels, "variant")
    fig.suptitle("Ablation: what the GNN and the foundation-model embedding add (bars: mean ± sd; dots: seeds)")
    return fig


def label_noise_figure(metrics: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Box plots of test metrics per noise level (clean runs at 0 %), one box per model.

    Rows are datasets, columns AUROC and AUPRC; each box pools seeds and corrupted priors.
    `noise` is the percent of flipped training labels, as the train stage records it.
    """
    variants = _require_variants(metrics[metrics["noise"] > 0], variants, "label-noise figure")
    runs = metrics[metrics["variant"].isin(variants)]
    datasets = list(dict.fromkeys(runs.loc[runs["noise"] > 0, "dataset"]))
    levels = sorted(runs["noise"].unique())
    fig = Figure(figsize=(max(8.0, 1.3 * len(levels) * len(variants) + 2), 3.4 * len(datasets) + 0.8),
                 layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(datasets), 2, squeeze=False))
    width = 0.8 / len(variants)
    colours = colour_map(variants)
    for row, dataset in enumerate(datasets):
        for ax, column in zip(axes[row], TEST_METRICS):
            for i, variant in enumerate(variants):
                of_variant = runs[(runs["dataset"] == dataset) & (runs["variant"] == variant)]
                data = [of_variant.loc[of_variant["noise"] == lvl, column].dropna().to_numpy() for lvl in levels]
                positions = [k - 0.4 + width * (i + 0.5) for k, values in enumerate(data) if len(values)]
                data = [values for values in data if len(values)]
                if not data:
                    continue
                boxes = ax.boxplot(data, positions=positions, widths=width * 0.8, patch_artist=True,
                                   manage_ticks=False, flierprops=dict(markersize=3))
                for box in boxes["boxes"]:
                    box.set(facecolor=colours[variant], alpha=0.75)
                for median in boxes["medians"]:
                    median.set(color="black")
            ax.set_xticks(range(len(levels)), [f"{lvl:g}" + (" (clean)" if lvl == 0 else "") for lvl in levels])
            ax.set_xlim(-0.6, len(levels) - 0.4)
            ax.set_xlabel("flipped training labels (%)")
            ax.set_ylabel(metric_axis_label(column))
            ax.set_title(f"{dataset}: test {TEST_METRICS[column]}")
            ax.grid(axis="y", alpha=0.3)
            ax.set_axisbelow(True)
    _figure_legend(fig, colours, labels, "model")
    fig.suptitle("Robustness to label noise (boxes over seeds and corrupted priors)")
    return fig


def paired_differences(runs: pd.DataFrame, reference: str, variant: str, column: str) -> pd.DataFrame:
    """`variant - reference` per (dataset, seed) where both ran; columns dataset, seed, delta."""
    keys = ["dataset", "seed"]
    ref = runs.loc[runs["variant"] == reference, keys + [column]].groupby(keys)[column].mean()
    var = runs.loc[runs["variant"] == variant, keys + [column]].groupby(keys)[column].mean()
    delta = (var - ref).dropna()
    return delta.rename("delta").reset_index()


def perturbation_figure(
    metrics: pd.DataFrame, reference: str, variants: Sequence[str], labels: Mapping[str, str]
) -> Figure:
    """Change of the test metrics when the training graph is augmented, paired by seed."""
    runs = clean_runs(metrics)
    variants = _require_variants(runs, variants, "edge-perturbation figure")
    _require_variants(runs, [reference], "edge-perturbation figure (reference)")
    datasets = list(dict.fromkeys(runs.loc[runs["variant"].isin(variants), "dataset"]))
    fig, axes = _bar_panels(1, len(datasets))
    width = 0.8 / len(variants)
    # Colours continue after the reference's, as in the ablation figure.
    colours = {v: c for v, c in colour_map([reference, *variants]).items() if v != reference}
    for ax, column in zip(axes[0], TEST_METRICS):
        for i, variant in enumerate(variants):
            deltas = paired_differences(runs, reference, variant, column)
            for j, dataset in enumerate(datasets):
                values = deltas.loc[deltas["dataset"] == dataset, "delta"]
                if values.empty:
                    continue
                _bar_with_seeds(ax, j - 0.4 + width * (i + 0.5), values, width, colours[variant])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(datasets)), datasets)
        ax.set_xlabel("dataset")
        ax.set_ylabel(f"Δ test {TEST_METRICS[column]} vs {display_label(reference, labels)} (unitless)")
        ax.set_title(f"test {TEST_METRICS[column]}")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    _figure_legend(fig, colours, labels, "augmentation")
    fig.suptitle("Edge perturbation: effect of augmenting the training graph (paired by seed; > 0 helps)")
    return fig


def grn_evaluation_figure(
    evaluation: pd.DataFrame, labels: Mapping[str, str], scope_titles: Mapping[str, str]
) -> Figure:
    """AUROC and AUPRC of the inferred networks and the unsupervised baselines per dataset.

    `evaluation` is long: columns `dataset, network, scope, auroc, auprc`, one row per split
    seed or cell type. One row of panels per scope (the splits' test pairs, each cell type's
    truth); bars are means, error bars sd, dots the single evaluations. Networks keep their
    order of appearance.
    """
    if evaluation.empty:
        raise ValueError("GRN evaluation figure: the evaluation table is empty")
    runs = evaluation.rename(columns={"network": "variant", "auroc": "test_auroc", "auprc": "test_auprc"})
    datasets = list(dict.fromkeys(runs["dataset"]))
    scopes = list(dict.fromkeys(runs["scope"]))
    fig, axes = _bar_panels(len(scopes), len(datasets))
    colours = colour_map(runs["variant"])
    for row, scope in enumerate(scopes):
        of_scope = runs[runs["scope"] == scope]
        networks = list(dict.fromkeys(of_scope["variant"]))
        for ax, column in zip(axes[row], TEST_METRICS):
            _grouped_bars(ax, of_scope, column, datasets, networks, colours)
            ax.set_ylim(0, 1.05)
            ax.set_ylabel(f"{TEST_METRICS[column]} (unitless, 0-1)")
            ax.set_title(f"{TEST_METRICS[column]} on {scope_titles.get(scope, scope)}")
    _figure_legend(fig, colours, labels, "network")
    fig.suptitle("Inferred GRNs against the ground truth (bars: mean ± sd; dots: splits or cell types)")
    return fig


def pr_curves_figure(dataset: str, curves: Mapping[str, Mapping[str, PRCurve]]) -> Figure:
    """One panel per cell type: a line per network, the random baseline dotted."""
    cell_types = list(curves)
    n_cols = int(np.ceil(np.sqrt(len(cell_types))))
    n_rows = -(-len(cell_types) // n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.8 * n_rows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for ax, cell_type in zip(axes, cell_types):
        prevalence = 0.0
        for i, (network, curve) in enumerate(curves[cell_type].items()):
            ax.plot(curve.recall, curve.precision, drawstyle="steps-post", color=colour(i),
                    label=f"{network} (AP {curve.average_precision:.3f})")
            prevalence = curve.prevalence
        ax.axhline(prevalence, color="grey", linestyle=":", label=f"random (AP {prevalence:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall (fraction of true edges found)")
        ax.set_ylabel("precision (fraction of edges true)")
        ax.set_title(f"{cell_type} ({next(iter(curves[cell_type].values())).n_positive} true edges)")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[len(cell_types):]:
        ax.set_visible(False)
    fig.suptitle(f"{dataset}: precision-recall of the inferred GRNs per cell type")
    return fig


def save_figure(fig: Figure, png: str | os.PathLike[str], svg: str | os.PathLike[str], dpi: int = 150) -> None:
    """Write the figure as PNG (at `dpi`) and SVG, each atomically."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    with atomic_path(svg) as tmp:
        fig.savefig(tmp, format="svg")
