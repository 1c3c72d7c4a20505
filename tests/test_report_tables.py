"""The paper-style tables: mean ± sd over seeds, clean runs only, one table per gene set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grnlink.report.tables import (
    format_mean_sd,
    gene_set_groups,
    gene_set_size,
    markdown_table,
    paper_table,
    read_metrics,
    write_paper_tables,
)
from grnlink.report.variants import variant_label, variant_roles

from test_report_inputs import VARIANTS, synthetic_metrics


def two_seed_metrics() -> pd.DataFrame:
    rows = [
        ("d1", "full", 0, 0.0, 0.80, 0.40), ("d1", "full", 1, 0.0, 0.90, 0.50),
        ("d1", "full", 0, 2.0, 0.10, 0.10),  # a noisy run: must not enter the table
        ("d1", "base", 0, 0.0, 0.50, 0.20), ("d1", "base", 1, 0.0, 0.50, 0.30),
        ("d2", "full", 0, 0.0, 0.70, 0.60),
    ]
    return pd.DataFrame(rows, columns=["dataset", "variant", "seed", "noise", "test_auroc", "test_auprc"])


def test_cells_are_mean_and_sample_sd_of_clean_runs():
    table = paper_table(two_seed_metrics(), ["d1", "d2"], {"full": "Full model"}, decimals=3)
    sd = np.std([0.8, 0.9], ddof=1)
    assert table.loc["Full model", "d1 AUROC"] == f"0.850 ± {sd:.3f}"
    assert table.loc["Full model", "d1 AUPRC"] == f"0.450 ± {sd:.3f}"
    assert table.loc["base", "d1 AUROC"] == "0.500 ± 0.000"
    assert table.loc["Full model", "d2 AUROC"] == "0.700"  # one seed: no sd
    assert table.loc["base", "d2 AUROC"] == "n/a"  # never ran there
    assert list(table.columns) == ["d1 AUROC", "d1 AUPRC", "d2 AUROC", "d2 AUPRC"]


def test_rows_follow_the_label_order_then_unknown_variants_sorted():
    metrics = synthetic_metrics(["d"])
    labels = {"genelink": "GENELink", "scregnet": "scRegNet"}
    table = paper_table(metrics, ["d"], labels)
    assert list(table.index[:2]) == ["GENELink", "scRegNet"]
    assert list(table.index[2:]) == sorted(v["name"] for v in VARIANTS if v["name"] not in labels)


def test_format_mean_sd_ignores_missing_values():
    assert format_mean_sd(pd.Series([0.2, np.nan, 0.4]), 2) == "0.30 ± 0.14"
    assert format_mean_sd(pd.Series([np.nan]), 2) == "n/a"


def test_gene_set_groups_split_by_size():
    groups = gene_set_groups({"a": 500, "b": 1000, "c": 500, "d": None})
    assert groups == {"TFs+500": ["a", "c"], "TFs+1000": ["b"], "all": ["d"]}


def test_gene_set_size_from_config_or_genelink_folder():
    assert gene_set_size({"source": "simulate", "n_top_genes": 1000}) == 1000
    assert gene_set_size({"source": "genelink", "path": "resources/beeline/hHEP/TFs+500"}) == 500
    assert gene_set_size({"source": "h5ad", "path": "mine.h5ad"}) is None


def test_written_tables_agree_in_every_format(tmp_path):
    metrics = synthetic_metrics(["hHEP", "mDC"])
    write_table_path = tmp_path / "metrics.tsv"
    metrics.to_csv(write_table_path, sep="\t", index=False)
    labels = variant_roles(VARIANTS).labels
    table = write_paper_tables(read_metrics(write_table_path), ["hHEP", "mDC"], labels,
                               tmp_path / "t.tsv", tmp_path / "t.md", tmp_path / "t.html")
    back = pd.read_csv(tmp_path / "t.tsv", sep="\t", index_col=0)
    assert back.shape == (len(VARIANTS), 4)
    assert back.loc["scRegNet", "mDC AUROC"] == table.loc["scRegNet", "mDC AUROC"]
    markdown = (tmp_path / "t.md").read_text().splitlines()
    assert markdown[0] == "| method | hHEP AUROC | hHEP AUPRC | mDC AUROC | mDC AUPRC |"
    assert len([line for line in markdown if line.startswith("| ")]) == 1 + len(VARIANTS)
    assert "over 3 seeds" in markdown[-1]
    html = (tmp_path / "t.html").read_text()
    assert "scRegNet w/o GNN" in html and "±" in html


def test_table_without_clean_runs_fails():
    metrics = two_seed_metrics()
    with pytest.raises(ValueError, match="no clean"):
        paper_table(metrics[metrics["noise"] > 0], ["d1"], {})


def test_variant_labels_are_built_from_the_variant_fields():
    assert variant_label({"name": "x"}) == "scRegNet"
    assert variant_label({"name": "x", "encoder": "none"}) == "scRegNet w/o GNN"
    assert variant_label({"name": "x", "encoder": "gat", "embedding": False}) == "scRegNet (GAT) w/o embedding"
    assert variant_label({"name": "x", "perturbation": "prior", "perturbation_ratio": 0.5}) == (
        "scRegNet + GRN-prior edges (50%)")
    assert variant_label({"name": "x", "model": "pearson"}) == "|Pearson|"
    assert variant_label({"name": "x", "fusion": "cross_attention"}) == "scRegNet, cross-attention fusion"


def test_cross_attention_variant_is_not_the_full_model():
    roles = variant_roles([{"name": "xattn", "fusion": "cross_attention"}, {"name": "plain"}])
    assert roles.full_model == "plain" and roles.labels["xattn"] != roles.labels["plain"]


def test_markdown_escapes_pipes_in_labels():
    table = paper_table(two_seed_metrics(), ["d1"], {"full": "|Pearson|"})
    row = [line for line in markdown_table(table, "note").splitlines() if "Pearson" in line][0]
    assert row.startswith("| \\|Pearson\\| | ") and row.count(" | ") == 2


def test_roles_follow_the_configured_variants():
    roles = variant_roles(VARIANTS, {"genelink": "GENELink (GAT)"})
    assert roles.full_model == "scregnet"
    assert roles.ablations == ["scregnet", "no_gnn", "no_embedding"]
    assert roles.perturbations == ["coexpression"]
    assert roles.noise == ["scregnet", "genelink"]
    assert roles.labels["genelink"] == "GENELink (GAT)"
    assert list(roles.labels) == [v["name"] for v in VARIANTS]


def test_roles_of_a_full_model_only_config():
    roles = variant_roles([{"name": "mine"}])
    assert roles.full_model == "mine" and roles.ablations == [] and roles.perturbations == []


def test_same_label_twice_gets_the_variant_name():
    roles = variant_roles([{"name": "a"}, {"name": "b"}])
    assert roles.labels == {"a": "scRegNet [a]", "b": "scRegNet [b]"}
