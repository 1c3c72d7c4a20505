"""The paper-style tables: mean ± sd over seeds, clean runs only, one table per gene set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grnlink.report.lift import LIFT_COLUMNS, lift_over_baseline, t_interval, write_lift_table
from grnlink.report.tables import (
    format_mean_sd,
    gene_set_groups,
    gene_set_size,
    markdown_table,
    paper_table,
    protocol_title,
    read_metrics,
    table_note,
    write_paper_tables,
)
from grnlink.report.variants import variant_roles
from grnlink.settings import Variant, dataset_settings

from test_report_inputs import VARIANTS, synthetic_metrics

# The shared config list (test_report_inputs.VARIANTS) as the workflow hands it to the report.
VARIANT_SETTINGS = [Variant.from_config(v) for v in VARIANTS]

METRIC_NAMES = ["AUROC", "AUPRC", "per-TF AUROC", "per-TF AUPRC", "EPR"]


def two_seed_metrics() -> pd.DataFrame:
    """Hand-made runs: columns auroc, auprc, per-TF auroc, per-TF auprc, epr; a tf_holdout
    run of `full` on d1 seed 0 that the genelink table must never show."""
    rows = [
        ("d1", "full", "genelink", 0, 0.0, 0.80, 0.40, 0.70, 0.30, 2.0),
        ("d1", "full", "genelink", 1, 0.0, 0.90, 0.50, 0.60, np.nan, 4.0),
        ("d1", "full", "genelink", 0, 2.0, 0.10, 0.10, 0.10, 0.10, 0.5),  # a noisy run: must not enter the table
        ("d1", "base", "genelink", 0, 0.0, 0.50, 0.20, 0.50, 0.20, 1.0),
        ("d1", "base", "genelink", 1, 0.0, 0.50, 0.30, 0.50, 0.30, 1.0),
        ("d2", "full", "genelink", 0, 0.0, 0.70, 0.60, 0.65, 0.55, 3.5),
        ("d1", "full", "tf_holdout", 0, 0.0, 0.55, 0.05, 0.52, 0.04, 0.9),
    ]
    columns = ["dataset", "variant", "protocol", "seed", "noise", "test_auroc", "test_auprc", "test_auroc_per_tf",
               "test_auprc_per_tf", "test_epr"]
    return pd.DataFrame(rows, columns=columns)


def test_cells_are_mean_and_sample_sd_of_clean_runs_of_the_protocol():
    table = paper_table(two_seed_metrics(), ["d1", "d2"], {"full": "Full model"}, protocol="genelink", decimals=3)
    sd = np.std([0.8, 0.9], ddof=1)
    assert table.loc["Full model", "d1 AUROC"] == f"0.850 ± {sd:.3f}"
    assert table.loc["Full model", "d1 AUPRC"] == f"0.450 ± {sd:.3f}"
    assert table.loc["Full model", "d1 per-TF AUROC"] == f"0.650 ± {np.std([0.7, 0.6], ddof=1):.3f}"
    assert table.loc["Full model", "d1 per-TF AUPRC"] == "0.300"  # one seed has no per-TF AUPRC
    assert table.loc["Full model", "d1 EPR"] == f"3.000 ± {np.std([2.0, 4.0], ddof=1):.3f}"
    assert table.loc["base", "d1 AUROC"] == "0.500 ± 0.000"
    assert table.loc["Full model", "d2 AUROC"] == "0.700"  # one seed: no sd
    assert table.loc["base", "d2 AUROC"] == "n/a"  # never ran there
    assert list(table.columns) == [f"{d} {m}" for d in ("d1", "d2") for m in METRIC_NAMES]


def test_a_protocol_table_never_shows_another_protocols_runs():
    table = paper_table(two_seed_metrics(), ["d1"], {"full": "Full model"}, protocol="tf_holdout")
    assert list(table.index) == ["Full model"]  # base ran in genelink only
    assert table.loc["Full model", "d1 AUROC"] == "0.550"
    assert table.loc["Full model", "d1 EPR"] == "0.900"
    metrics = synthetic_metrics(["hHEP"])
    labels = variant_roles(VARIANT_SETTINGS).labels
    for protocol in ("genelink", "tf_holdout"):
        runs = metrics[(metrics["protocol"] == protocol) & (metrics["noise"] == 0) & (metrics["variant"] == "scregnet")]
        expected = f"{runs['test_auroc'].mean():.3f} ± {runs['test_auroc'].std(ddof=1):.3f}"
        assert paper_table(metrics, ["hHEP"], labels, protocol=protocol).loc["scRegNet", "hHEP AUROC"] == expected


def test_a_protocol_without_runs_fails_naming_the_protocols_present():
    with pytest.raises(ValueError, match=r"no runs of split protocol 'gene_holdout'.*\['genelink', 'tf_holdout'\]"):
        paper_table(two_seed_metrics(), ["d1"], {}, protocol="gene_holdout")


def test_degree_row_is_in_the_table():
    labels = variant_roles(VARIANT_SETTINGS).labels
    table = paper_table(synthetic_metrics(["hHEP"]), ["hHEP"], labels, protocol="genelink")
    assert "Degree baseline (label-only)" in table.index
    assert table.loc["Degree baseline (label-only)"].str.contains("±").all()


def test_rows_follow_the_label_order_then_unknown_variants_sorted():
    metrics = synthetic_metrics(["d"])
    labels = {"genelink": "GENELink", "scregnet": "scRegNet"}
    table = paper_table(metrics, ["d"], labels, protocol="genelink")
    assert list(table.index[:2]) == ["GENELink", "scRegNet"]
    assert list(table.index[2:]) == sorted(v["name"] for v in VARIANTS if v["name"] not in labels)


def test_format_mean_sd_ignores_missing_values():
    assert format_mean_sd(pd.Series([0.2, np.nan, 0.4]), 2) == "0.30 ± 0.14"
    assert format_mean_sd(pd.Series([np.nan]), 2) == "n/a"


def test_gene_set_groups_split_by_size():
    groups = gene_set_groups({"a": 500, "b": 1000, "c": 500, "d": None})
    assert groups == {"TFs+500": ["a", "c"], "TFs+1000": ["b"], "all": ["d"]}


def test_gene_set_size_from_config_or_genelink_folder():
    assert gene_set_size(dataset_settings({"source": "simulate", "n_top_genes": 1000})) == 1000
    assert gene_set_size(dataset_settings({"source": "genelink", "path": "resources/beeline/hHEP/TFs+500"})) == 500
    assert gene_set_size(dataset_settings({"source": "genelink", "path": "resources/my_genelink_folder"})) is None
    user_file = {"source": "h5ad", "path": "mine.h5ad", "network": "net.csv", "tfs": "tfs.csv", "cell_types": ["a"]}
    assert gene_set_size(dataset_settings(user_file)) == 500  # the default n_top_genes
    assert gene_set_size(dataset_settings({**user_file, "n_top_genes": 2000})) == 2000


def test_written_tables_agree_in_every_format(tmp_path):
    metrics = synthetic_metrics(["hHEP", "mDC"])
    write_table_path = tmp_path / "metrics.tsv"
    metrics.to_csv(write_table_path, sep="\t", index=False)
    labels = variant_roles(VARIANT_SETTINGS).labels
    table = write_paper_tables(read_metrics(write_table_path), ["hHEP", "mDC"], labels, protocol="tf_holdout",
                               tsv=tmp_path / "t.tsv", markdown=tmp_path / "t.md", html=tmp_path / "t.html")
    back = pd.read_csv(tmp_path / "t.tsv", sep="\t", index_col=0)
    assert back.shape == (len(VARIANTS), 2 * len(METRIC_NAMES))
    assert back.loc["scRegNet", "mDC AUROC"] == table.loc["scRegNet", "mDC AUROC"]
    assert back.loc["scRegNet", "mDC per-TF AUPRC"] == table.loc["scRegNet", "mDC per-TF AUPRC"]
    markdown = (tmp_path / "t.md").read_text().splitlines()
    assert markdown[0] == "| method | " + " | ".join(f"{d} {m}" for d in ("hHEP", "mDC") for m in METRIC_NAMES) + " |"
    assert len([line for line in markdown if line.startswith("| ")]) == 1 + len(VARIANTS)
    assert "tf_holdout split (test TFs unseen in training)" in markdown[-1] and "over 3 seeds" in markdown[-1]
    html = (tmp_path / "t.html").read_text()
    assert "scRegNet w/o GNN" in html and "±" in html and "EPR is the precision" in html


def test_note_says_what_the_columns_mean():
    note = table_note(two_seed_metrics(), ["d1", "d2"], protocol="genelink")
    assert note.startswith("Test pairs of the genelink split (GENELink per-TF hard-negative split), mean ± sd over")
    assert "over 1-2 seeds" in note  # d2 has one seed, d1 two
    for term in ("per-TF AUROC/AUPRC", "EPR", "1 = random", "clean labels"):
        assert term in note
    assert protocol_title("my_split") == "my_split split"


def test_table_without_clean_runs_fails():
    metrics = two_seed_metrics()
    with pytest.raises(ValueError, match="no clean"):
        paper_table(metrics[metrics["noise"] > 0], ["d1"], {}, protocol="genelink")


def test_variant_labels_are_built_from_the_variant_fields():
    assert Variant("x").label == "scRegNet"
    assert Variant("x", encoder="none").label == "scRegNet w/o GNN"
    assert Variant("x", encoder="gat", embedding=False).label == "scRegNet (GAT) w/o embedding"
    assert Variant("x", perturbation="prior", perturbation_ratio=0.5).label == "scRegNet + GRN-prior edges (50%)"
    assert Variant("x", model="pearson").label == "|Pearson|"
    assert Variant("x", fusion="cross_attention").label == "scRegNet, cross-attention fusion"


def test_degree_label_ignores_encoder_and_embedding():
    for extra in ({}, {"encoder": "none"}, {"embedding": False}, {"encoder": "gat", "noise": True}):
        assert Variant("d", model="degree", **extra).label == "Degree baseline (label-only)"


def test_cross_attention_variant_is_not_the_full_model():
    roles = variant_roles([Variant("xattn", fusion="cross_attention"), Variant("plain")])
    assert roles.full_model == "plain" and roles.labels["xattn"] != roles.labels["plain"]


def test_markdown_escapes_pipes_in_labels():
    table = paper_table(two_seed_metrics(), ["d1"], {"full": "|Pearson|"}, protocol="genelink")
    row = [line for line in markdown_table(table, "note").splitlines() if "Pearson" in line][0]
    assert row.startswith("| \\|Pearson\\| | ") and row.count(" | ") == len(METRIC_NAMES)


def test_roles_follow_the_configured_variants():
    roles = variant_roles(VARIANT_SETTINGS, {"genelink": "GENELink (GAT)"})
    assert roles.full_model == "scregnet"
    assert roles.ablations == ["scregnet", "no_gnn", "no_embedding"]
    assert roles.perturbations == ["coexpression"]
    assert roles.noise == ["scregnet", "genelink", "degree"]
    assert roles.degree == "degree"
    assert roles.labels["genelink"] == "GENELink (GAT)"
    assert list(roles.labels) == [v["name"] for v in VARIANTS]


def test_roles_of_a_full_model_only_config():
    roles = variant_roles([Variant("mine")])
    assert roles.full_model == "mine" and roles.ablations == [] and roles.perturbations == []
    assert roles.degree is None


def test_degree_role_is_the_first_degree_variant_and_never_a_comparison():
    variants = [Variant("full"), Variant("deg", model="degree"), Variant("deg2", model="degree", noise=True),
                Variant("no_gnn", encoder="none")]
    roles = variant_roles(variants)
    assert roles.degree == "deg" and roles.noise == ["deg2"]
    assert roles.ablations == ["full", "no_gnn"] and roles.full_model == "full"
    assert roles.labels["deg"] == "Degree baseline (label-only) [deg]"


def test_same_label_twice_gets_the_variant_name():
    roles = variant_roles([Variant("a"), Variant("b")])
    assert roles.labels == {"a": "scRegNet [a]", "b": "scRegNet [b]"}


def lift_metrics() -> pd.DataFrame:
    """Hand-made clean runs of one dataset for the lift: `deg` is the baseline; `a` beats it
    by 0.10, 0.20, 0.15 AUROC on seeds 0-2; `b` ran seed 0 only; a noisy run, a run of
    another protocol and a run of another dataset must not enter the genelink pairs of d1."""
    rows = [
        ("d1", "deg", "genelink", 0, 0.0, 0.60, 0.20, 0.55), ("d1", "deg", "genelink", 1, 0.0, 0.62, 0.22, 0.50),
        ("d1", "deg", "genelink", 2, 0.0, 0.58, 0.18, 0.52),
        ("d1", "a", "genelink", 0, 0.0, 0.70, 0.30, 0.60), ("d1", "a", "genelink", 1, 0.0, 0.82, 0.25, np.nan),
        ("d1", "a", "genelink", 2, 0.0, 0.73, 0.28, 0.62),
        ("d1", "a", "genelink", 2, 5.0, 0.10, 0.10, 0.10),  # noisy
        ("d1", "a", "tf_holdout", 0, 0.0, 0.10, 0.10, 0.10), ("d1", "deg", "tf_holdout", 0, 0.0, 0.90, 0.90, 0.90),
        ("d1", "b", "genelink", 0, 0.0, 0.50, 0.10, 0.45),
        ("d2", "a", "genelink", 0, 0.0, 0.99, 0.99, 0.99),  # no baseline run in d2: no pair
    ]
    columns = ["dataset", "variant", "protocol", "seed", "noise", "test_auroc", "test_auprc", "test_auroc_per_tf"]
    return pd.DataFrame(rows, columns=columns).assign(test_auprc_per_tf=0.3, test_epr=1.0)


def test_lift_is_the_paired_mean_difference_with_a_t_interval():
    lift = lift_over_baseline(lift_metrics(), baseline="deg", labels={"deg": "Degree", "a": "A", "b": "B"},
                              protocol="genelink")
    assert list(lift.columns) == LIFT_COLUMNS
    assert set(lift["dataset"]) == {"d1"} and "deg" not in set(lift["variant"])
    rows = lift.set_index(["variant", "metric"])
    auroc = rows.loc[("a", "test_auroc")]
    # Differences 0.10, 0.20, 0.15: mean 0.15, sd 0.05, t_{0.975, 2} = 4.302653.
    half = 4.302653 * 0.05 / np.sqrt(3)
    assert auroc["label"] == "A" and auroc["n_seeds"] == 3
    assert auroc["mean"] == pytest.approx(0.15)
    assert auroc["ci_low"] == pytest.approx(0.15 - half, abs=1e-6) and auroc["ci_high"] == pytest.approx(0.15 + half,
                                                                                                          abs=1e-6)
    auprc = rows.loc[("a", "test_auprc")]  # 0.10, 0.03, 0.10
    assert auprc["mean"] == pytest.approx(0.23 / 3)
    per_tf = rows.loc[("a", "test_auroc_per_tf")]  # seed 1 has no per-TF AUROC: pairs 0.05, 0.10
    half = 12.706205 * np.std([0.05, 0.10], ddof=1) / np.sqrt(2)
    assert per_tf["n_seeds"] == 2 and per_tf["mean"] == pytest.approx(0.075)
    assert per_tf["ci_high"] == pytest.approx(0.075 + half, abs=1e-6)
    one_seed = rows.loc[("b", "test_auroc")]
    assert one_seed["n_seeds"] == 1 and one_seed["mean"] == pytest.approx(-0.10)
    assert np.isnan(one_seed["ci_low"]) and np.isnan(one_seed["ci_high"])
    assert list(lift["variant"]) == ["a"] * 3 + ["b"] * 3  # label order, then LIFT_METRICS
    assert list(lift["metric"][:3]) == ["test_auroc", "test_auprc", "test_auroc_per_tf"]


def test_lift_pairs_within_the_protocol_only():
    lift = lift_over_baseline(lift_metrics(), baseline="deg", labels={}, protocol="tf_holdout")
    row = lift.set_index(["variant", "metric"]).loc[("a", "test_auroc")]
    assert row["n_seeds"] == 1 and row["mean"] == pytest.approx(0.10 - 0.90)


def test_t_interval_needs_two_values():
    # [1, 3]: mean 2, sd sqrt(2), n 2, so the half width is t_{0.975, 1} = 12.706205.
    assert t_interval(np.array([1.0, 3.0])) == pytest.approx((2.0 - 12.706205, 2.0 + 12.706205), abs=1e-5)
    assert all(np.isnan(t_interval(np.array([0.4]))))


def test_lift_without_the_baseline_or_a_pair_fails_clearly():
    metrics = lift_metrics()
    with pytest.raises(ValueError, match="lift over 'zzz': the baseline has no clean runs of protocol 'genelink'"):
        lift_over_baseline(metrics, baseline="zzz", labels={}, protocol="genelink")
    unpaired = metrics[metrics["variant"].isin(["deg", "b"])].copy()
    unpaired.loc[unpaired["variant"] == "b", "seed"] = 9
    with pytest.raises(ValueError, match="no variant shares a split seed"):
        lift_over_baseline(unpaired, baseline="deg", labels={}, protocol="genelink")


def test_lift_table_is_written_with_empty_intervals_for_one_seed(tmp_path):
    lift = write_lift_table(lift_metrics(), baseline="deg", labels={}, protocol="genelink", tsv=tmp_path / "l.tsv")
    back = pd.read_csv(tmp_path / "l.tsv", sep="\t")
    assert list(back.columns) == LIFT_COLUMNS and len(back) == len(lift) == 6
    assert back.loc[back["variant"] == "b", "ci_low"].isna().all()
    assert back.loc[back["variant"] == "b", "label"].eq("b").all()
