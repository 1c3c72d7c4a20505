"""The papers' figures, drawn from a run's metrics and GRN outputs.

Every function returns a matplotlib `Figure` (object-oriented API, no pyplot state) and
`save_figure` writes it as PNG and SVG. Metrics are unitless scores in [0, 1] (differences
of them in the lift and perturbation figures); the axes say so; noise levels are percent of
flipped training labels. The link-prediction figures show one split protocol each, named
in the title, and draw the label-only degree baseline as their reference: hatched white
bars and boxes, or a dashed black line.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from grnlink.io import atomic_path
from grnlink.report.curves import PRCurve
from grnlink.report.lift import LIFT_METRICS, lift_over_baseline, paired_differences
from grnlink.report.tables import TEST_METRICS, clean_runs, display_label, protocol_runs, protocol_title

PALETTE = ("#1b6ca8", "#e07b39", "#3a9d5d", "#c23b3b", "#8560a8", "#8c6d31", "#d46fb0", "#6b6b6b", "#b5b82e", "#2bb3c0")
SEED_POINT = dict(s=12, color="black", alpha=0.6, zorder=3, linewidths=0)
# The degree baseline's look: no palette colour, so it reads as the reference in every figure.
BASELINE_FILL: dict[str, Any] = dict(facecolor="white", edgecolor="black", hatch="///")
BASELINE_LINE: dict[str, Any] = dict(color="black", linestyle="--", linewidth=1.3)
Style = Mapping[str, Any]
LABEL_WIDTH = 38  # characters per line of a variant label on the lift figure's axis


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def colour_map(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, the same in every panel of a figure."""
    return {name: colour(i) for i, name in enumerate(dict.fromkeys(names))}


def fill_styles(variants: Sequence[str], baseline: str | None = None) -> dict[str, Style]:
    """Bar/box fill per variant: a palette colour each, the hatched reference look for `baseline`."""
    colours = colour_map([v for v in variants if v != baseline])
    return {v: BASELINE_FILL if v == baseline else dict(facecolor=colours[v]) for v in variants}


def _fill_handles(styles: Mapping[str, Style], labels: Mapping[str, str]) -> list[Artist]:
    return [Patch(**style, label=display_label(name, labels)) for name, style in styles.items()]


def _figure_legend(fig: Figure, handles: Sequence[Artist], title: str) -> None:
    """One legend for all panels, below them, so it never hides data."""
    fig.legend(handles=list(handles), loc="outside lower center", ncols=min(len(handles), 4), fontsize=9, title=title)


def _bar_panel_layout(n_groups: int, n_datasets: int) -> tuple[tuple[float, float], int, int]:
    """Figure size (inches) and rows x columns of bar panels over datasets: AUROC and AUPRC
    side by side for a few datasets, stacked (one wide panel per metric) for many."""
    if n_datasets <= 3:
        return (max(11.0, 4.0 + 2.6 * n_datasets), 3.9 * n_groups + 0.9), n_groups, 2
    return (min(24.0, 3.0 + 1.4 * n_datasets), 3.6 * 2 * n_groups + 0.9), 2 * n_groups, 1


def _bar_panels(n_groups: int, n_datasets: int) -> tuple[Figure, np.ndarray]:
    """Axes `[group, metric]` for bar charts over datasets (`_bar_panel_layout`)."""
    size, rows, cols = _bar_panel_layout(n_groups, n_datasets)
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False).reshape(n_groups, 2)


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
    ax: Axes, runs: pd.DataFrame, column: str, datasets: Sequence[str], styles: Mapping[str, Style]
) -> None:
    """Bars of the mean per (dataset, variant), sd as error bar, one dot per seed; the
    variants are the keys of `styles`, in that order within each dataset group."""
    width = 0.8 / len(styles)
    for i, (variant, style) in enumerate(styles.items()):
        for j, dataset in enumerate(datasets):
            values = runs.loc[(runs["dataset"] == dataset) & (runs["variant"] == variant), column].dropna()
            if values.empty:
                continue
            _bar_with_seeds(ax, j - 0.4 + width * (i + 0.5), values, width, style)
    ax.set_xticks(range(len(datasets)), datasets)
    ax.set_xlabel("dataset")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _bar_with_seeds(ax: Axes, x: float, values: pd.Series, width: float, style: Style) -> None:
    """One bar of the mean with the sd as error bar, and a dot per seed."""
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    ax.bar(x, values.mean(), width * 0.9, yerr=sd, capsize=3, **style)
    ax.scatter(x + _spread(len(values), width * 0.5), values, **SEED_POINT)


def _baseline_runs(runs: pd.DataFrame, baseline: str | None, what: str) -> list[str]:
    """`[baseline]` when one is configured (it must have runs), else `[]`."""
    return [] if baseline is None else _require_variants(runs, [baseline], f"{what} (degree baseline)")


def ablation_figure(
    metrics: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str], *, protocol: str,
    baseline: str | None = None,
) -> Figure:
    """Full model vs its ablations (e.g. without GNN, without embedding) on the clean runs of
    one protocol, AUROC and AUPRC; the degree `baseline`, when given, as a hatched last bar
    of each dataset group."""
    runs = clean_runs(protocol_runs(metrics, protocol))
    variants = _require_variants(runs, variants, "ablation figure")
    reference = _baseline_runs(runs, baseline, "ablation figure")
    datasets = list(dict.fromkeys(runs.loc[runs["variant"].isin(variants), "dataset"]))
    fig, axes = _bar_panels(1, len(datasets))
    styles = fill_styles([*variants, *reference], baseline)
    for ax, column in zip(axes[0], TEST_METRICS):
        _grouped_bars(ax, runs, column, datasets, styles)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(metric_axis_label(column))
        ax.set_title(f"test {TEST_METRICS[column]}")
    _figure_legend(fig, _fill_handles(styles, labels), "variant")
    fig.suptitle(f"Ablation, {protocol_title(protocol)}\n"
                 "what the GNN and the foundation-model embedding add (bars: mean ± sd; dots: seeds)")
    return fig


def _runs_of_noise_splits(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of the (dataset, seed) splits that ran the noise study (train.noise_seeds,
    train.noise_datasets): the clean box then compares like with like."""
    noisy = runs.loc[runs["noise"] > 0, ["dataset", "seed"]].drop_duplicates()
    return runs.merge(noisy, on=["dataset", "seed"])


def label_noise_figure(
    metrics: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str], *, protocol: str,
    baseline: str | None = None,
) -> Figure:
    """Box plots of test metrics per noise level (clean runs at 0 %), one box per model, for
    one protocol.

    Rows are datasets, columns AUROC and AUPRC; each box pools seeds and corrupted priors,
    over the splits that ran the noise study (clean runs of the other seeds are left out).
    `noise` is the percent of flipped training labels, as the train stage records it. The
    degree `baseline` gets hatched boxes when it has noise runs, else a dashed line at its
    clean mean.
    """
    runs = _runs_of_noise_splits(protocol_runs(metrics, protocol))
    noisy = runs[runs["noise"] > 0]
    compared = [v for v in variants if v != baseline]
    with_noise = set(noisy["variant"])
    if baseline is None or baseline in with_noise:
        boxed = _require_variants(noisy, [*compared, *([baseline] if baseline else [])], "label-noise figure")
        line = []
    else:
        boxed = _require_variants(noisy, compared, "label-noise figure")
        line = _baseline_runs(clean_runs(runs), baseline, "label-noise figure")
    datasets = list(dict.fromkeys(noisy.loc[noisy["variant"].isin(boxed), "dataset"]))
    levels = sorted(runs.loc[runs["variant"].isin(boxed), "noise"].unique())
    fig = Figure(figsize=(max(8.0, 1.3 * len(levels) * len(boxed) + 2), 3.4 * len(datasets) + 0.8),
                 layout="constrained")
    axes = fig.subplots(len(datasets), 2, squeeze=False)
    width = 0.8 / len(boxed)
    styles = fill_styles(boxed, baseline)
    for row, dataset in enumerate(datasets):
        of_dataset = runs[runs["dataset"] == dataset]
        for ax, column in zip(axes[row], TEST_METRICS):
            for i, variant in enumerate(boxed):
                of_variant = of_dataset[of_dataset["variant"] == variant]
                data = [of_variant.loc[of_variant["noise"] == lvl, column].dropna().to_numpy() for lvl in levels]
                positions = [k - 0.4 + width * (i + 0.5) for k, values in enumerate(data) if len(values)]
                data = [values for values in data if len(values)]
                if not data:
                    continue
                boxes = ax.boxplot(data, positions=positions, widths=width * 0.8, patch_artist=True,
                                   manage_ticks=False, flierprops=dict(markersize=3))
                for box in boxes["boxes"]:
                    box.set(**styles[variant], alpha=0.75 if variant != baseline else 1.0)
                for median in boxes["medians"]:
                    median.set(color="black")
            clean = clean_runs(of_dataset)
            reference = clean.loc[clean["variant"].isin(line), column].dropna()
            if not reference.empty:
                ax.axhline(reference.mean(), **BASELINE_LINE)
            ax.set_xticks(range(len(levels)), [f"{lvl:g}" + (" (clean)" if lvl == 0 else "") for lvl in levels])
            ax.set_xlim(-0.6, len(levels) - 0.4)
            ax.set_xlabel("flipped training labels (%)")
            ax.set_ylabel(metric_axis_label(column))
            ax.set_title(f"{dataset}: test {TEST_METRICS[column]}")
            ax.grid(axis="y", alpha=0.3)
            ax.set_axisbelow(True)
    handles = _fill_handles(styles, labels)
    handles += [Line2D([], [], **BASELINE_LINE, label=f"{display_label(v, labels)}: clean mean") for v in line]
    _figure_legend(fig, handles, "model")
    fig.suptitle(f"Robustness to label noise, {protocol_title(protocol)}\n(boxes over seeds and corrupted priors)")
    return fig


def perturbation_figure(
    metrics: pd.DataFrame, reference: str, variants: Sequence[str], labels: Mapping[str, str], *, protocol: str,
    baseline: str | None = None,
) -> Figure:
    """Change of the test metrics when the training graph is augmented, paired by seed, on
    the clean runs of one protocol. The degree `baseline`'s mean paired difference to the
    same `reference` is a dashed line across each dataset group: the scale of "no
    expression at all"."""
    runs = clean_runs(protocol_runs(metrics, protocol))
    variants = _require_variants(runs, variants, "edge-perturbation figure")
    _require_variants(runs, [reference], "edge-perturbation figure (reference)")
    line = _baseline_runs(runs, baseline, "edge-perturbation figure")
    datasets = list(dict.fromkeys(runs.loc[runs["variant"].isin(variants), "dataset"]))
    fig, axes = _bar_panels(1, len(datasets))
    width = 0.8 / len(variants)
    # Colours continue after the reference's, as in the ablation figure.
    styles = {v: dict(facecolor=c) for v, c in colour_map([reference, *variants]).items() if v != reference}
    for ax, column in zip(axes[0], TEST_METRICS):
        for i, variant in enumerate(variants):
            deltas = paired_differences(runs, reference, variant, column)
            for j, dataset in enumerate(datasets):
                values = deltas.loc[deltas["dataset"] == dataset, "delta"]
                if values.empty:
                    continue
                _bar_with_seeds(ax, j - 0.4 + width * (i + 0.5), values, width, styles[variant])
        for variant in line:
            deltas = paired_differences(runs, reference, variant, column).groupby("dataset")["delta"].mean()
            for j, dataset in enumerate(datasets):
                if dataset in deltas.index:
                    ax.hlines(deltas[dataset], j - 0.45, j + 0.45, **BASELINE_LINE)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(datasets)), datasets)
        ax.set_xlabel("dataset")
        ax.set_ylabel(f"Δ test {TEST_METRICS[column]} vs {display_label(reference, labels)} (unitless)")
        ax.set_title(f"test {TEST_METRICS[column]}")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles = _fill_handles(styles, labels)
    handles += [Line2D([], [], **BASELINE_LINE, label=f"{display_label(v, labels)}: mean Δ") for v in line]
    _figure_legend(fig, handles, "augmentation")
    fig.suptitle(f"Edge perturbation, {protocol_title(protocol)}\n"
                 "effect of augmenting the training graph (paired by seed; > 0 helps)")
    return fig


def lift_figure(lift: pd.DataFrame, *, baseline: str, labels: Mapping[str, str], protocol: str,
                title: str | None = None) -> Figure:
    """Point-and-interval plot of `grnlink.report.lift.lift_over_baseline`'s table (or of
    some of its variants: the evidence ablation, `title` naming it).

    One panel per metric, one row per variant (table order), a dot per dataset (colour)
    at the mean paired difference with its 95 % t-interval; a hollow dot is a single seed
    (no interval). The vertical line is zero: the degree baseline itself.
    """
    if lift.empty:
        raise ValueError("lift figure: the lift table is empty")
    columns = [c for c in LIFT_METRICS if c in set(lift["metric"])]
    variants = list(dict.fromkeys(lift["variant"]))
    row_labels = {v: textwrap.fill(label, LABEL_WIDTH, break_on_hyphens=False)
                  for v, label in zip(lift["variant"], lift["label"])}
    datasets = list(dict.fromkeys(lift["dataset"]))
    colours = colour_map(datasets)
    step = min(0.7 / len(datasets), 0.22)
    offsets = {d: (j - (len(datasets) - 1) / 2) * step for j, d in enumerate(datasets)}
    # At least 3 in (450 px at the saved 150 dpi), so a figure of one or two variants stays readable.
    height = max(3.0, 1.8 + len(variants) * max(0.4, 0.12 * len(datasets) + 0.2))
    fig = Figure(figsize=(3.6 * len(columns) + 3.0, height), layout="constrained")
    axes = fig.subplots(1, len(columns), sharey=True, squeeze=False)[0]
    rows = {v: i for i, v in enumerate(variants)}
    for ax, column in zip(axes, columns):
        for i in range(1, len(variants), 2):
            ax.axhspan(i - 0.5, i + 0.5, color="#f0f0f0", zorder=0)
        ax.axvline(0, color="black", linewidth=1.0, zorder=1)
        for entry in lift[lift["metric"] == column].itertuples():
            y = rows[entry.variant] + offsets[entry.dataset]
            c = colours[entry.dataset]
            if np.isfinite(entry.ci_low):
                ax.errorbar(entry.mean, y, xerr=[[entry.mean - entry.ci_low], [entry.ci_high - entry.mean]],
                            fmt="o", color=c, markersize=5, capsize=2.5, linewidth=1.4, zorder=3)
            else:
                ax.plot(entry.mean, y, "o", color=c, markerfacecolor="white", markersize=5, zorder=3)
        ax.set_ylim(len(variants) - 0.5, -0.5)
        ax.set_xlabel(f"Δ {LIFT_METRICS[column]} vs degree (unitless)")
        ax.set_title(f"test {LIFT_METRICS[column]}")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(variants)), [row_labels[v] for v in variants])
    handles: list[Artist] = [Line2D([], [], marker="o", color=colours[d], linestyle="", label=d) for d in datasets]
    if not np.isfinite(lift["ci_low"]).all():
        handles.append(Line2D([], [], marker="o", color="grey", markerfacecolor="white", linestyle="",
                              label="one seed: no interval"))
    _figure_legend(fig, handles, "dataset")
    fig.suptitle(f"{title or 'Lift'} over {display_label(baseline, labels)}, {protocol_title(protocol)}\n"
                 "difference paired by split seed, mean and 95% t-interval (> 0: better than label-only)")
    return fig


def evidence_ablation_figure(metrics: pd.DataFrame, variants: Sequence[str], *, baseline: str,
                             labels: Mapping[str, str], protocol: str) -> Figure:
    """The evidence ablation: the lift over the degree baseline of grnlink, of grnlink
    without each evidence group, the GNN or the embedding, and of the evidence regression
    (`variants`, in that order), per dataset."""
    lift = lift_over_baseline(metrics, baseline=baseline, labels=labels, protocol=protocol)
    lift = lift[lift["variant"].isin(_require_variants(lift, variants, "evidence ablation figure"))]
    order = {v: i for i, v in enumerate(variants)}
    lift = lift.sort_values("variant", key=lambda v: v.map(order), kind="stable")
    return lift_figure(lift, baseline=baseline, labels=labels, protocol=protocol,
                       title="Evidence ablation: lift")


LINK_PANEL_HEIGHT = 4.4  # inches of the precision-by-link-correlation row


def grn_evaluation_figure(
    evaluation: pd.DataFrame, labels: Mapping[str, str], scope_titles: Mapping[str, str],
    without_atac: Sequence[str] = (), link_precision: pd.DataFrame | None = None,
) -> Figure:
    """AUROC and AUPRC of the inferred networks and the unsupervised baselines per dataset,
    and (given rows of `link_precision`) the precision of the ATAC edges by link correlation.

    `evaluation` is long: columns `dataset, network, scope, auroc, auprc`, one row per split
    seed or cell type. One row of panels per scope (the splits' test pairs, each cell type's
    truth); bars are means, error bars sd, dots the single evaluations. Networks keep their
    order of appearance. `without_atac` (`dataset/cell_type`) are named in a footnote: ATAC
    supported no edge of their GRNs (no triplet, or none with a positive significant link),
    so their "ATAC-supported" scores are GRNBoost2's alone.
    `link_precision` (grnlink.report.grn_results.link_precision_table, paired datasets only)
    adds a bottom row, one panel per dataset (`link_precision_panel`).
    """
    if evaluation.empty:
        raise ValueError("GRN evaluation figure: the evaluation table is empty")
    runs = evaluation.rename(columns={"network": "variant", "auroc": "test_auroc", "auprc": "test_auprc"})
    datasets = list(dict.fromkeys(runs["dataset"]))
    scopes = list(dict.fromkeys(runs["scope"]))
    paired = [] if link_precision is None else list(dict.fromkeys(link_precision["dataset"]))
    (width, height), rows, cols = _bar_panel_layout(len(scopes), len(datasets))
    fig = Figure(figsize=(max(width, 5.5 * len(paired)), height + (LINK_PANEL_HEIGHT if paired else 0.0)),
                 layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[height, LINK_PANEL_HEIGHT]) if paired else (fig, None)
    axes = top.subplots(rows, cols, squeeze=False).reshape(len(scopes), 2)
    styles = fill_styles(list(dict.fromkeys(runs["variant"])))
    for row, scope in enumerate(scopes):
        of_scope = runs[runs["scope"] == scope]
        networks = list(dict.fromkeys(of_scope["variant"]))
        for ax, column in zip(axes[row], TEST_METRICS):
            _grouped_bars(ax, of_scope, column, datasets, {n: styles[n] for n in networks})
            ax.set_ylim(0, 1.05)
            ax.set_ylabel(f"{TEST_METRICS[column]} (unitless, 0-1)")
            ax.set_title(f"{TEST_METRICS[column]} on {scope_titles.get(scope, scope)}")
    _figure_legend(top, _fill_handles(styles, labels), "network")
    if bottom is not None:
        for ax, name in zip(bottom.subplots(1, len(paired), squeeze=False)[0], paired):
            link_precision_panel(ax, link_precision[link_precision["dataset"] == name], name)
    fig.suptitle("Inferred GRNs against the ground truth (bars: mean ± sd; dots: splits or cell types)")
    if without_atac:
        fig.supxlabel("ATAC contributed no TF -> peak -> gene triplet with a positive significant link for "
                      + ", ".join(without_atac)
                      + " (why: the WARNING in logs/grn_celltype/); their ATAC-supported scores are GRNBoost2's alone",
                      fontsize="small", color="firebrick")
    return fig


def link_precision_panel(ax: Axes, table: pd.DataFrame, dataset: str) -> None:
    """Precision of one dataset's cell-type GRN edges by bin of their peak-gene link
    correlation: bars the cell types pooled (`cell_type` "all"), dots single cell types,
    above each bar the edge count and the share with ATAC support (a positive link
    significant at grn.link_pvalue); the dashed line is the precision of all candidate
    pairs (a random ranking)."""
    pooled = table[table["cell_type"] == "all"]
    single = table[table["cell_type"] != "all"]
    bins = list(pooled["link_correlation"])
    x = np.arange(len(bins))
    ax.bar(x, pooled["precision"].fillna(0.0), 0.7, color=colour(0), alpha=0.85)
    ax.scatter(single["link_correlation"].map({b: i for i, b in enumerate(bins)}), single["precision"], **SEED_POINT)
    highest = table.groupby("link_correlation")["precision"].max().reindex(bins).fillna(0.0)
    for i, row in enumerate(pooled.itertuples()):
        share = "" if pd.isna(row.share_supported) else f"\n{row.share_supported:.0%} supported"
        ax.annotate(f"n={row.n_edges}{share}", (i, highest.iloc[i]), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7)
    ax.axhline(float(pooled["candidate_precision"].iloc[0]), **BASELINE_LINE)
    top = np.nanmax(np.r_[table["precision"].to_numpy(float), 0.05])
    ax.set_ylim(0, min(1.05, top * 1.35 + 0.02))
    ax.set_xticks(x, bins, rotation=20)
    ax.set_xlabel("best peak-gene link correlation r of the edge's triplets")
    ax.set_ylabel("precision (fraction of edges true, 0-1)")
    ax.set_title(f"{dataset}: ATAC edges by link correlation (dots: cell types; dashed: all candidate pairs)",
                 fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


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
