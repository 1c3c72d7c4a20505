"""The figures: right numbers behind them, and PNG/SVG files that are readable and not blank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from grnlink.report import figures
from grnlink.report.curves import candidate_pairs, celltype_truth, pr_curve
from grnlink.report.grn_results import NETWORK_LABELS, SCOPE_TITLES, celltype_pr_curves, read_grn_evaluations
from grnlink.report.variants import variant_roles
from grnlink.io import write_table

from test_report_inputs import (
    CELL_TYPES, GENES, TFS, VARIANTS, baseline_scores, celltype_grn, synthetic_evaluation, synthetic_metrics,
    synthetic_network, write_preprocessed,
)

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


def test_ablation_figure(metrics, tmp_path):
    roles = variant_roles(VARIANTS)
    fig = figures.ablation_figure(metrics, roles.ablations, roles.labels)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["scRegNet", "scRegNet w/o GNN", "scRegNet w/o embedding"]
    assert "AUROC" in fig.axes[0].get_ylabel() and "AUPRC" in fig.axes[1].get_ylabel()
    figures.save_figure(fig, tmp_path / "a.png", tmp_path / "a.svg")
    assert_readable_figure(tmp_path / "a.png", tmp_path / "a.svg")


def test_many_datasets_stack_the_metric_panels(tmp_path):
    many = synthetic_metrics([f"d{i}" for i in range(8)], seeds=2, replicates=1)
    roles = variant_roles(VARIANTS)
    fig = figures.ablation_figure(many, roles.ablations, roles.labels)
    top, bottom = fig.axes[:2]
    assert len(top.get_xticks()) == 8 and top.get_position().y0 > bottom.get_position().y1
    width, height = fig.get_size_inches()
    assert width <= 24
    figures.save_figure(fig, tmp_path / "m.png", tmp_path / "m.svg")
    assert_readable_figure(tmp_path / "m.png", tmp_path / "m.svg")


def test_label_noise_figure(metrics, tmp_path):
    roles = variant_roles(VARIANTS)
    fig = figures.label_noise_figure(metrics, roles.noise, roles.labels)
    assert len(fig.axes) == 2 * 2  # datasets x metrics
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["0 (clean)", "1", "2"]
    assert fig.axes[0].get_xlabel() == "flipped training labels (%)"
    figures.save_figure(fig, tmp_path / "n.png", tmp_path / "n.svg")
    assert_readable_figure(tmp_path / "n.png", tmp_path / "n.svg")


def test_perturbation_figure_shows_paired_differences(metrics, tmp_path):
    deltas = figures.paired_differences(metrics[metrics["noise"] == 0], "scregnet", "coexpression", "test_auroc")
    one = metrics[(metrics["noise"] == 0) & (metrics["dataset"] == "mDC") & (metrics["seed"] == 1)]
    expected = (one.loc[one["variant"] == "coexpression", "test_auroc"].item()
                - one.loc[one["variant"] == "scregnet", "test_auroc"].item())
    assert deltas.set_index(["dataset", "seed"]).loc[("mDC", 1), "delta"] == pytest.approx(expected)
    roles = variant_roles(VARIANTS)
    fig = figures.perturbation_figure(metrics, roles.full_model, roles.perturbations, roles.labels)
    figures.save_figure(fig, tmp_path / "p.png", tmp_path / "p.svg")
    assert_readable_figure(tmp_path / "p.png", tmp_path / "p.svg")


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
        figures.ablation_figure(metrics, ["not_run"], {})
