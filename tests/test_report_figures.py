"""The figures: right numbers behind them, and PNG/SVG files that are readable and not blank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from grnlink.report import figures
from grnlink.report.curves import candidate_pairs, celltype_truth, pr_curve
from grnlink.report.grn_results import (
    LINK_PRECISION_COLUMNS, NETWORK_LABELS, SCOPE_TITLES, cell_types_without_atac_triplets, celltype_pr_curves,
    link_bin_labels, link_precision_of_datasets, read_grn_evaluations, write_link_precision,
)
from grnlink.report.lift import LIFT_COLUMNS, lift_over_baseline, paired_differences
from grnlink.report.variants import variant_roles
from grnlink.settings import Variant
from grnlink.io import write_table

from test_report_inputs import (
    CELL_TYPES, GENES, TFS, VARIANTS, baseline_scores, celltype_grn, synthetic_evaluation, synthetic_metrics,
    synthetic_network, write_preprocessed,
)

DEGREE_LABEL = "Degree baseline (label-only)"

MIN_SIDE_PX = 400


def assert_readable_figure(png, svg) -> None:
    """PNG big enough and not blank (ink on a real share of pixels); SVG non-empty."""
    image = np.asarray(Image.open(png).convert("L"), dtype=float)
    height, width = image.shape
    assert min(height, width) >= MIN_SIDE_PX, f"{png}: {width} x {height} px is too small to read"
    ink = (image < 200).mean()
    assert 0.01 < ink < 0.9, f"{png}: {ink:.1%} of pixels are dark: blank or solid"
    assert image.std() > 10
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "</svg>" in text


def test_pr_curve_matches_a_hand_computed_average_precision():
    candidates = pd.DataFrame({"TF": ["A", "A", "B", "B"], "target": ["x", "y", "x", "y"]})
    truth = pd.DataFrame({"TF": ["A", "B"], "target": ["x", "x"]})
    scores = pd.DataFrame({"TF": ["A", "A", "B"], "target": ["x", "y", "x"], "s": [0.9, 0.8, 0.7]})
    curve = pr_curve(scores, "s", truth, candidates)  # ranking: true, false, true, (absent) false
    assert curve.average_precision == pytest.approx((1 + 2 / 3) / 2)
    assert curve.prevalence == 0.5 and curve.n_positive == 2
    assert curve.recall.max() == 1.0


def test_candidates_exclude_self_loops_and_truth_is_per_cell_type():
    candidates = candidate_pairs(TFS, GENES)
    assert len(candidates) == len(TFS) * (len(GENES) - 1)
    assert not (candidates["TF"] == candidates["target"]).any()
    truth = celltype_truth(synthetic_network(), "CT1")
    assert len(truth) == 3 + 4 and set(truth["TF"]) == {"TF0", "TF1", "TF2"}


def test_celltype_curves_reward_the_informative_grn(tmp_path):
    write_preprocessed(tmp_path / "p.h5mu")
    write_table(baseline_scores(), tmp_path / "baseline.tsv")
    network = synthetic_network()
    for ct in CELL_TYPES:
        write_table(celltype_grn(ct, network, good=ct == "CT1"), tmp_path / f"{ct}.tsv")
    curves = celltype_pr_curves(tmp_path / "p.h5mu", {ct: tmp_path / f"{ct}.tsv" for ct in CELL_TYPES},
                                tmp_path / "baseline.tsv")
    assert list(curves) == CELL_TYPES
    assert list(curves["CT1"]) == ["cell-type GRN, ATAC-supported", "GRNBoost2 in the cell type (RNA only)",
                                   "GRNBoost2 over all cells"]
    good = curves["CT1"]["cell-type GRN, ATAC-supported"]
    assert good.average_precision == pytest.approx(1.0)  # true edges ranked first
    assert curves["CT1"]["GRNBoost2 in the cell type (RNA only)"].average_precision < 1.0
    assert curves["CT2"]["cell-type GRN, ATAC-supported"].average_precision < 1.0
    assert good.n_positive == 7 and good.prevalence == pytest.approx(7 / (len(TFS) * (len(GENES) - 1)))


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return synthetic_metrics(["hHEP", "mDC"])


@pytest.fixture(scope="module")
def roles():
    return variant_roles([Variant.from_config(v) for v in VARIANTS])


def legend_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()]


def hatched_bars(ax) -> list:
    return [p for p in ax.patches if p.get_hatch()]


def dashed_lines(ax) -> list:
    """Horizontal dashed reference lines and segments (axhline is a Line2D, hlines a collection)."""
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    return lines + [c for c in ax.collections if c.get_linestyle()[0][1] is not None]


def clean_mean(metrics, variant, dataset, protocol, column="test_auroc") -> float:
    runs = metrics[(metrics["variant"] == variant) & (metrics["dataset"] == dataset)
                   & (metrics["protocol"] == protocol) & (metrics["noise"] == 0)]
    return runs[column].mean()


@pytest.mark.parametrize("protocol", ["genelink", "tf_holdout"])
def test_ablation_figure(metrics, roles, tmp_path, protocol):
    fig = figures.ablation_figure(metrics, roles.ablations, roles.labels, protocol=protocol, baseline=roles.degree)
    assert legend_texts(fig) == ["scRegNet", "scRegNet w/o GNN", "scRegNet w/o embedding", DEGREE_LABEL]
    assert "AUROC" in fig.axes[0].get_ylabel() and "AUPRC" in fig.axes[1].get_ylabel()
    assert protocol in fig.get_suptitle()
    auroc = fig.axes[0]
    degree_bars = hatched_bars(auroc)
    assert len(degree_bars) == 2  # one per dataset group, the last bar of each
    assert degree_bars[0].get_height() == pytest.approx(clean_mean(metrics, "degree", "hHEP", protocol))
    full_bar = auroc.patches[0]  # the first bar of the first group: the full model on hHEP
    assert full_bar.get_height() == pytest.approx(clean_mean(metrics, "scregnet", "hHEP", protocol))
    figures.save_figure(fig, tmp_path / "a.png", tmp_path / "a.svg")
    assert_readable_figure(tmp_path / "a.png", tmp_path / "a.svg")


def test_ablation_figure_without_a_degree_variant(metrics, roles):
    fig = figures.ablation_figure(metrics, roles.ablations, roles.labels, protocol="genelink")
    assert DEGREE_LABEL not in legend_texts(fig) and not hatched_bars(fig.axes[0])
    with pytest.raises(ValueError, match=r"ablation figure \(degree baseline\): none of the variants \['nope'\]"):
        figures.ablation_figure(metrics, roles.ablations, roles.labels, protocol="genelink", baseline="nope")


def test_many_datasets_stack_the_metric_panels(roles, tmp_path):
    many = synthetic_metrics([f"d{i}" for i in range(8)], seeds=2, replicates=1, protocols=["genelink"])
    fig = figures.ablation_figure(many, roles.ablations, roles.labels, protocol="genelink", baseline=roles.degree)
    top, bottom = fig.axes[:2]
    assert len(top.get_xticks()) == 8 and top.get_position().y0 > bottom.get_position().y1
    width, height = fig.get_size_inches()
    assert width <= 24
    figures.save_figure(fig, tmp_path / "m.png", tmp_path / "m.svg")
    assert_readable_figure(tmp_path / "m.png", tmp_path / "m.svg")


def test_label_noise_figure_boxes_the_degree_baseline_when_it_has_noise_runs(metrics, roles, tmp_path):
    fig = figures.label_noise_figure(metrics, roles.noise, roles.labels, protocol="genelink", baseline=roles.degree)
    assert len(fig.axes) == 2 * 2  # datasets x metrics
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["0 (clean)", "1", "2"]
    assert fig.axes[0].get_xlabel() == "flipped training labels (%)"
    assert legend_texts(fig) == ["scRegNet", "GENELink", DEGREE_LABEL]
    assert len(hatched_bars(fig.axes[0])) == 3  # the degree box at each noise level
    assert not dashed_lines(fig.axes[0])
    assert "genelink split" in fig.get_suptitle()
    figures.save_figure(fig, tmp_path / "n.png", tmp_path / "n.svg")
    assert_readable_figure(tmp_path / "n.png", tmp_path / "n.svg")


def test_label_noise_figure_draws_the_clean_degree_mean_without_its_noise_runs(metrics, roles, tmp_path):
    no_degree_noise = metrics[~((metrics["variant"] == "degree") & (metrics["noise"] > 0))]
    fig = figures.label_noise_figure(no_degree_noise, roles.noise, roles.labels, protocol="genelink",
                                     baseline=roles.degree)
    assert legend_texts(fig) == ["scRegNet", "GENELink", f"{DEGREE_LABEL}: clean mean"]
    assert not hatched_bars(fig.axes[0])
    (line,) = dashed_lines(fig.axes[2])  # second dataset, AUROC
    assert line.get_ydata()[0] == pytest.approx(clean_mean(metrics, "degree", "mDC", "genelink"))
    figures.save_figure(fig, tmp_path / "n.png", tmp_path / "n.svg")
    assert_readable_figure(tmp_path / "n.png", tmp_path / "n.svg")


def test_label_noise_figure_compares_with_the_clean_runs_of_the_noise_splits_only(metrics, roles):
    """With the noise study on one split seed (train.noise_seeds), the clean reference is that
    seed's clean runs, not the mean over every seed."""
    first = metrics["seed"].min()
    one_seed = metrics[(metrics["noise"] == 0) | (metrics["seed"] == first)]
    no_degree_noise = one_seed[~((one_seed["variant"] == "degree") & (one_seed["noise"] > 0))]
    fig = figures.label_noise_figure(no_degree_noise, roles.noise, roles.labels, protocol="genelink",
                                     baseline=roles.degree)
    (line,) = dashed_lines(fig.axes[2])  # second dataset, AUROC
    clean = metrics[(metrics["variant"] == "degree") & (metrics["dataset"] == "mDC") & (metrics["noise"] == 0)
                    & (metrics["protocol"] == "genelink") & (metrics["seed"] == first)]
    assert line.get_ydata()[0] == pytest.approx(clean["test_auroc"].mean())
    assert line.get_ydata()[0] != pytest.approx(clean_mean(metrics, "degree", "mDC", "genelink"))


def test_label_noise_figure_of_a_protocol_without_noise_runs_fails(metrics, roles):
    with pytest.raises(ValueError, match="label-noise figure: none of the variants"):
        figures.label_noise_figure(metrics, roles.noise, roles.labels, protocol="tf_holdout", baseline=roles.degree)


def test_perturbation_figure_shows_paired_differences(metrics, roles, tmp_path):
    clean = metrics[(metrics["noise"] == 0) & (metrics["protocol"] == "genelink")]
    deltas = paired_differences(clean, "scregnet", "coexpression", "test_auroc")
    one = clean[(clean["dataset"] == "mDC") & (clean["seed"] == 1)]
    expected = (one.loc[one["variant"] == "coexpression", "test_auroc"].item()
                - one.loc[one["variant"] == "scregnet", "test_auroc"].item())
    assert deltas.set_index(["dataset", "seed"]).loc[("mDC", 1), "delta"] == pytest.approx(expected)
    fig = figures.perturbation_figure(metrics, roles.full_model, roles.perturbations, roles.labels,
                                      protocol="genelink", baseline=roles.degree)
    assert legend_texts(fig) == ["scRegNet + co-expression edges (20%)", f"{DEGREE_LABEL}: mean Δ"]
    segments = dashed_lines(fig.axes[0])
    assert len(segments) == 2  # one across each dataset group
    degree_delta = clean_mean(metrics, "degree", "hHEP", "genelink") - clean_mean(metrics, "scregnet", "hHEP",
                                                                                   "genelink")
    assert segments[0].get_segments()[0][0][1] == pytest.approx(degree_delta)
    assert "genelink split" in fig.get_suptitle()
    figures.save_figure(fig, tmp_path / "p.png", tmp_path / "p.svg")
    assert_readable_figure(tmp_path / "p.png", tmp_path / "p.svg")


def many_variant_lift(n_datasets: int, seeds: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """A lift table of 12 variants, some with long labels, over `n_datasets` datasets."""
    rng = np.random.default_rng(1)
    names = [f"v{i}" for i in range(12)]
    labels = {n: f"scRegNet variant {i}" + (" + pair co-expression, 1-hidden-layer classifier" if i % 3 == 0 else "")
              for i, n in enumerate(names)}
    labels["degree"] = DEGREE_LABEL
    rows = []
    for d in range(n_datasets):
        for s in range(seeds):
            rows.append(("degree", f"d{d}", s, 0.6))
            rows += [(n, f"d{d}", s, 0.6 + 0.02 * (i - 4) + rng.normal(0, 0.01)) for i, n in enumerate(names)]
    metrics = pd.DataFrame(rows, columns=["variant", "dataset", "seed", "test_auroc"]).assign(
        protocol="gene_holdout", noise=0.0, test_auprc=lambda m: m["test_auroc"] - 0.4,
        test_auroc_per_tf=lambda m: m["test_auroc"] - 0.05)
    return lift_over_baseline(metrics, baseline="degree", labels=labels, protocol="gene_holdout"), labels


@pytest.mark.parametrize("n_datasets, seeds", [(1, 3), (4, 3), (2, 1)])
def test_lift_figure_is_readable_with_many_variants(tmp_path, n_datasets, seeds):
    lift, labels = many_variant_lift(n_datasets, seeds)
    assert list(lift.columns) == LIFT_COLUMNS
    fig = figures.lift_figure(lift, baseline="degree", labels=labels, protocol="gene_holdout")
    assert len(fig.axes) == 3  # AUROC, AUPRC, per-TF AUROC
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [t.replace("\n", " ") for t in ticks] == [labels[f"v{i}"] for i in range(12)]
    assert max(len(line) for t in ticks for line in t.splitlines()) <= figures.LABEL_WIDTH
    assert fig.axes[2].get_title() == "test per-TF AUROC" and "Δ AUROC vs degree" in fig.axes[0].get_xlabel()
    assert "gene_holdout split" in fig.get_suptitle() and DEGREE_LABEL in fig.get_suptitle()
    zero = [line for line in fig.axes[0].get_lines() if list(line.get_xdata()) == [0, 0]]
    assert zero, "the zero line is missing"
    legend = legend_texts(fig)
    assert legend[:n_datasets] == [f"d{d}" for d in range(n_datasets)]
    assert ("one seed: no interval" in legend) == (seeds == 1)
    width, height = fig.get_size_inches()
    assert width <= 16 and height <= 16
    figures.save_figure(fig, tmp_path / "l.png", tmp_path / "l.svg")
    assert_readable_figure(tmp_path / "l.png", tmp_path / "l.svg")


def test_lift_figure_of_two_variants_is_readable(tmp_path):
    lift, labels = many_variant_lift(1, 3)
    two = lift[lift["variant"].isin(["v0", "v1"])]
    fig = figures.lift_figure(two, baseline="degree", labels=labels, protocol="genelink")
    figures.save_figure(fig, tmp_path / "l.png", tmp_path / "l.svg")
    assert_readable_figure(tmp_path / "l.png", tmp_path / "l.svg")


def test_lift_figure_draws_the_interval_of_the_table(tmp_path):
    lift, labels = many_variant_lift(1, 3)
    fig = figures.lift_figure(lift, baseline="degree", labels=labels, protocol="gene_holdout")
    row = lift[(lift["variant"] == "v0") & (lift["metric"] == "test_auroc")].iloc[0]
    bars = [c for c in fig.axes[0].collections if len(c.get_segments()) == 1
            and c.get_segments()[0][0][1] == pytest.approx(0.0)]
    (segment,) = [c.get_segments()[0] for c in bars]
    assert segment[:, 0] == pytest.approx([row["ci_low"], row["ci_high"]])


def test_grn_evaluation_figure(tmp_path):
    for k, name in enumerate(["demo", "other"]):
        write_table(synthetic_evaluation(name, seed=k), tmp_path / f"{name}.tsv")
    evaluation = read_grn_evaluations([tmp_path / "demo.tsv", tmp_path / "other.tsv"], ["demo", "other"])
    assert set(evaluation["dataset"]) == {"demo", "other"}
    fig = figures.grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES)
    assert len(fig.axes) == 4  # (splits, cell types) x (AUROC, AUPRC)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["|Pearson|", "GRNBoost2 (RNA only)", "cell-type GRN (ATAC-supported)"]
    figures.save_figure(fig, tmp_path / "g.png", tmp_path / "g.svg")
    assert_readable_figure(tmp_path / "g.png", tmp_path / "g.svg")


def test_pr_curves_figure(tmp_path):
    candidates = candidate_pairs(TFS, GENES)
    network = synthetic_network()
    curves = {ct: {"cell-type GRN": pr_curve(celltype_grn(ct, network, True), "score",
                                             celltype_truth(network, ct), candidates)} for ct in CELL_TYPES}
    fig = figures.pr_curves_figure("demo", curves)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["CT1 (7 true edges)", "CT2 (7 true edges)"]
    assert fig.axes[0].get_xlabel().startswith("recall")
    figures.save_figure(fig, tmp_path / "c.png", tmp_path / "c.svg")
    assert_readable_figure(tmp_path / "c.png", tmp_path / "c.svg")


def test_the_readability_check_rejects_a_blank_figure(tmp_path):
    figures.save_figure(figures.Figure(figsize=(6, 4)), tmp_path / "b.png", tmp_path / "b.svg")
    with pytest.raises(AssertionError, match="blank"):
        assert_readable_figure(tmp_path / "b.png", tmp_path / "b.svg")


def test_figure_without_its_variants_fails_clearly(metrics):
    with pytest.raises(ValueError, match="ablation figure: none of the variants"):
        figures.ablation_figure(metrics, ["not_run"], {}, protocol="genelink")
    with pytest.raises(ValueError, match="lift figure: the lift table is empty"):
        figures.lift_figure(pd.DataFrame(columns=LIFT_COLUMNS), baseline="degree", labels={}, protocol="genelink")


def test_the_grn_figure_names_the_cell_types_where_atac_gave_no_triplet():
    rows = [("d", "atac_supported", "cell_type", "CT1", 0), ("d", "atac_supported", "cell_type", "CT2", 12),
            ("d", "grnboost2", "cell_type", "CT1", None), ("d", "atac_supported", "split", "all", 12)]
    evaluation = pd.DataFrame(rows, columns=["dataset", "network", "scope", "cell_type", "atac_edges"]).assign(
        auroc=0.6, auprc=0.2)
    assert cell_types_without_atac_triplets(evaluation) == ["d/CT1"]
    figure = figures.grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES, ["d/CT1"])
    assert "no TF -> peak -> gene triplet with a positive significant link for d/CT1" in figure._supxlabel.get_text()
    assert cell_types_without_atac_triplets(evaluation.drop(columns="atac_edges")) == []


def test_link_precision_counts_each_bin_against_the_cell_types_truth(tmp_path):
    write_preprocessed(tmp_path / "p.h5mu")
    grns = {
        "CT1": [("TF0", "G0", 0.5, 0.5), ("TF2", "G2", 0.0, 0.15), ("TF3", "G11", 0.0, 0.15),
                ("TF3", "G12", 0.0, -0.5), ("TF3", "G13", 0.0, np.nan)],  # the last has no triplet
        "CT2": [("TF3", "G6", 0.5, 0.5), ("TF0", "G0", 0.0, -0.1), ("TF2", "G2", 0.0, 0.3)],  # TF2 -> G2: CT1 only
    }
    for cell_type, rows in grns.items():
        table = pd.DataFrame(rows, columns=["TF", "target", "atac_support", "link_correlation"])
        write_table(table.assign(importance=1.0, score=0.5), tmp_path / f"{cell_type}.tsv")
    table = link_precision_of_datasets({"d": ["CT1", "CT2"]}, [tmp_path / "p.h5mu"],
                                       [tmp_path / "CT1.tsv", tmp_path / "CT2.tsv"])
    assert list(table.columns) == LINK_PRECISION_COLUMNS
    rows = table.set_index(["cell_type", "link_correlation"])
    assert rows.loc[("CT1", "[-1, -0.2]"), ["n_edges", "n_true"]].tolist() == [1, 0]
    assert rows.loc[("CT1", "(0.1, 0.2]"), ["n_edges", "n_true", "n_supported"]].tolist() == [2, 1, 0]
    assert rows.loc[("CT1", "(0.4, 1]"), ["precision", "share_supported"]].tolist() == [1.0, 1.0]
    assert np.isnan(rows.loc[("CT1", "(0, 0.1]"), "precision"])  # an empty bin
    assert rows.loc[("CT2", "(0.2, 0.4]"), ["n_edges", "n_true"]].tolist() == [1, 0]
    assert rows.loc[("all", "(0.4, 1]"), ["n_edges", "n_true"]].tolist() == [2, 2]
    assert rows.loc[("all", "(-0.2, 0]"), "precision"] == 1.0
    n_candidates = len(TFS) * (len(GENES) - 1)
    assert rows.loc[("CT1", "(0.4, 1]"), "candidate_precision"] == pytest.approx(7 / n_candidates)
    assert rows.loc[("all", "(0.4, 1]"), "candidate_precision"] == pytest.approx(14 / (2 * n_candidates))
    write_link_precision(table, tsv=tmp_path / "t.tsv", markdown=tmp_path / "t.md")
    assert "| d | CT1 | (0.1, 0.2] | 2 | 1 | 0 | 0.5 | 0.0 |" in (tmp_path / "t.md").read_text()


def test_grn_evaluation_figure_adds_the_link_precision_of_paired_data(tmp_path):
    write_preprocessed(tmp_path / "p.h5mu")
    paths = []
    for k, cell_type in enumerate(CELL_TYPES):
        paths.append(tmp_path / f"{cell_type}.tsv")
        write_table(celltype_grn(cell_type, synthetic_network(), good=True, seed=k), paths[-1])
    link = link_precision_of_datasets({"demo": CELL_TYPES}, [tmp_path / "p.h5mu"], paths)
    write_table(synthetic_evaluation("demo"), tmp_path / "demo.tsv")
    evaluation = read_grn_evaluations([tmp_path / "demo.tsv"], ["demo"])
    fig = figures.grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES, link_precision=link)
    assert len(fig.axes) == 5  # (splits, cell types) x (AUROC, AUPRC) + the link-precision panel
    panel = fig.axes[-1]
    assert panel.get_title().startswith("demo: ATAC edges by link correlation")
    assert [t.get_text() for t in panel.get_xticklabels()] == link_bin_labels()
    figures.save_figure(fig, tmp_path / "g.png", tmp_path / "g.svg")
    assert_readable_figure(tmp_path / "g.png", tmp_path / "g.svg")
    rna_only = figures.grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES, link_precision=link.iloc[:0])
    assert len(rna_only.axes) == 4
