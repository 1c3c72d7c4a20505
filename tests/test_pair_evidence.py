"""The pair-evidence table of the grn stage (grnlink.grn.evidence): one row per candidate
pair, label-free, the right numbers, and a reader that names the file at fault.

The simulated case reuses test_grn's small multiome dataset and its cell-type GRNs.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_grn import tiny, tiny_tables  # noqa: F401 (fixtures)

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.grn.cell_specific import cell_specific_grns
from grnlink.grn.evidence import (
    EVIDENCE_GROUPS, RNA_EVIDENCE_GROUPS, evidence_columns, pair_evidence, read_pair_evidence,
)
from grnlink.grn.stage import run_pair_evidence
from grnlink.io import write_table
from grnlink.settings import GrnSettings

PAIRS = [("TF0", "TF1"), ("TF0", "G0"), ("TF0", "G1"), ("TF1", "TF0"), ("TF1", "G0"), ("TF1", "G1")]


@pytest.fixture(scope="module")
def tiny_cell_specific(tiny, tiny_tables):  # noqa: F811
    rna, _ = tiny
    settings = GrnSettings(regulon_min_size=3, aucell_auc_threshold=0.25).cell_specific()
    return cell_specific_grns(rna, tiny_tables, settings, "tiny.h5mu")


def hand_built() -> tuple[ad.AnnData, dict[str, pd.DataFrame], ad.AnnData]:
    """Two TFs and two genes over 10 cells (5 per cell type), two cell-type tables and
    cell-specific GRNs of two edges."""
    rng = np.random.default_rng(11)
    genes = ["TF0", "TF1", "G0", "G1", "UNSELECTED"]
    cell_types = pd.Categorical(["CT1"] * 5 + ["CT2"] * 5)
    rna = ad.AnnData(
        X=sp.csr_matrix(rng.gamma(2.0, 1.0, size=(10, 5)).astype(np.float32)),
        obs=pd.DataFrame({"cell_type": cell_types}, index=[f"c{i}" for i in range(10)]),
        var=pd.DataFrame({"is_tf": [True, True, False, False, False], "selected": [True] * 4 + [False]}, index=genes),
    )
    rna.uns["network"] = pd.DataFrame({"Gene1": ["TF0"], "Gene2": ["G0"], "cell_type": ["CT1"]})
    tables = {
        "CT1": pd.DataFrame({"TF": ["TF0", "TF1"], "target": ["G0", "G1"], "importance": [2.0, 1.0],
                             "atac_support": [0.5, 0.0], "link_correlation": [0.5, -0.2], "score": [0.8, 0.3]}),
        "CT2": pd.DataFrame({"TF": ["TF0"], "target": ["G0"], "importance": [4.0], "atac_support": [0.3],
                             "link_correlation": [0.3], "score": [0.6]}),
    }
    aucell = np.zeros((10, 2), np.float32)
    aucell[[0, 1], 0] = 1.0  # TF0 -> G0 in 2 of 5 CT1 cells
    aucell[5:, 0] = 1.0  # and in every CT2 cell
    csn = np.zeros((10, 2), np.float32)
    csn[3, 1] = 3.0  # TF1 -> G1 in one CT1 cell
    cell_specific = ad.AnnData(
        X=sp.csr_matrix(aucell), obs=pd.DataFrame({"cell_type": cell_types}, index=rna.obs_names),
        var=pd.DataFrame({"TF": ["TF0", "TF1"], "target": ["G0", "G1"]}, index=["TF0->G0", "TF1->G1"]),
        layers={"aucell": sp.csr_matrix(aucell), "csn": sp.csr_matrix(csn)},
    )
    return rna, tables, cell_specific


def test_evidence_values_on_a_hand_built_case():
    rna, tables, cell_specific = hand_built()
    table = pair_evidence(rna, tables, cell_specific, paired=True)
    assert list(zip(table["TF"], table["Target"])) == PAIRS
    row = table.set_index(["TF", "Target"])
    x = rna.X.toarray()
    for (tf, target), (i, j) in {("TF0", "G0"): (0, 2), ("TF1", "G1"): (1, 3), ("TF1", "TF0"): (1, 0)}.items():
        overall = np.corrcoef(x[:, i], x[:, j])[0, 1]
        within = [np.corrcoef(x[k:k + 5, i], x[k:k + 5, j])[0, 1] for k in (0, 5)]
        assert row.loc[(tf, target), "r"] == pytest.approx(overall)
        assert row.loc[(tf, target), "abs_r"] == pytest.approx(abs(overall))
        assert row.loc[(tf, target), "abs_r_cell_type_max"] == pytest.approx(max(np.abs(within)))
        assert row.loc[(tf, target), "abs_r_cell_type_mean"] == pytest.approx(np.mean(np.abs(within)))
        assert row.loc[(tf, target), "r_cell_type_mean"] == pytest.approx(np.mean(within))
    expected = {
        ("TF0", "G0"): dict(grnboost2_max=4.0, grnboost2_mean=3.0, grn_score_max=0.8, grn_score_mean=0.7,
                            atac_support_max=0.5, atac_support_mean=0.4, atac_cell_type_share=1.0,
                            triplet_cell_type_share=1.0, aucell_share_max=1.0, aucell_share_mean=0.7,
                            csn_share_max=0.0, csn_share_mean=0.0),
        ("TF1", "G1"): dict(grnboost2_max=1.0, grnboost2_mean=0.5, grn_score_max=0.3, grn_score_mean=0.15,
                            atac_support_max=0.0, atac_support_mean=0.0, atac_cell_type_share=0.0,
                            triplet_cell_type_share=0.5, aucell_share_max=0.0, aucell_share_mean=0.0,
                            csn_share_max=0.2, csn_share_mean=0.1),
    }
    for pair, values in expected.items():
        for column, value in values.items():
            assert row.loc[pair, column] == pytest.approx(value), (pair, column)
    others = row.drop(index=list(expected))
    not_coexpression = [c for c in evidence_columns(EVIDENCE_GROUPS) if c not in EVIDENCE_GROUPS["coexpression"]]
    assert (others[not_coexpression] == 0).all().all()  # absent from every table: 0


def test_evidence_covers_every_candidate_pair_once(tiny, tiny_tables, tiny_cell_specific):  # noqa: F811
    rna, _ = tiny
    tfs, genes = dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna)
    expected = [(tf, g) for tf in tfs for g in genes if g != tf]
    for paired, groups in [(True, ("atac", *RNA_EVIDENCE_GROUPS)), (False, RNA_EVIDENCE_GROUPS)]:
        table = pair_evidence(rna, tiny_tables, tiny_cell_specific, paired=paired)
        assert list(zip(table["TF"], table["Target"])) == expected
        assert list(table.columns) == ["TF", "Target", *evidence_columns(groups)]
        assert np.isfinite(table.iloc[:, 2:].to_numpy(float)).all()
    # the inferred GRNs reach the table: some pairs have each kind of evidence
    assert (table[["grnboost2_max", "aucell_share_max", "csn_share_max"]] > 0).any().all()


def test_evidence_is_label_free(tiny, tiny_tables, tiny_cell_specific):  # noqa: F811
    rna, _ = tiny
    table = pair_evidence(rna, tiny_tables, tiny_cell_specific, paired=True)
    network = pd.DataFrame(rna.uns["network"])
    for changed in (network.assign(Gene2=np.random.default_rng(0).permutation(network["Gene2"].to_numpy())),
                    network.iloc[:0]):
        other = rna.copy()
        other.uns["network"] = changed
        pd.testing.assert_frame_equal(pair_evidence(other, tiny_tables, tiny_cell_specific, paired=True), table)


def test_the_stage_writes_a_table_its_reader_accepts(tmp_path, caplog):
    rna, tables, cell_specific = hand_built()
    dataset.save(rna, None, tmp_path / "data.h5ad")
    paths = {}
    for cell_type, table in tables.items():
        paths[cell_type] = tmp_path / f"{cell_type}.tsv"
        write_table(table.assign(peaks="", link_correlation=np.nan, atac_support=0.0, correlation=0.0),
                    paths[cell_type])
    cell_specific.write_h5ad(tmp_path / "cs.h5ad")
    with caplog.at_level(logging.INFO, logger="grnlink.grn.stage"):
        run_pair_evidence(preprocessed=tmp_path / "data.h5ad", celltype_paths=paths, cell_specific=tmp_path / "cs.h5ad",
                          output=tmp_path / "pair_evidence.tsv")
    table = read_pair_evidence(tmp_path / "pair_evidence.tsv")
    assert list(table.columns) == ["TF", "Target", *evidence_columns(RNA_EVIDENCE_GROUPS)]  # RNA only: no ATAC
    assert len(table) == len(PAIRS)
    messages = [r.getMessage() for r in caplog.records]
    assert "pair evidence: 6 candidate pairs, 11 evidence columns" in messages
    assert any(m.strip().startswith("grnboost2_max: nonzero in 33.3 % of the pairs") for m in messages)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns="csn_share_mean"), r"lacks column\(s\) \['csn_share_mean'\]"),
    (lambda t: t.drop(columns="atac_cell_type_share"), r"lacks column\(s\) \['atac_cell_type_share'\]"),
    (lambda t: t.drop(columns="Target"), r"missing column\(s\) \['Target'\]"),
    (lambda t: t.assign(abs_r=["x"] + [0.1] * (len(t) - 1)), r"line 2: column 'abs_r' holds 'x', not a finite number"),
    (lambda t: pd.concat([t, t.iloc[[1]]]), r"line 8: the pair TF0 -> G0 appears twice"),
])
def test_the_reader_names_the_file_and_what_is_wrong(tmp_path, change, message):
    rna, tables, cell_specific = hand_built()
    table = pair_evidence(rna, tables, cell_specific, paired=True)
    path = tmp_path / "pair_evidence.tsv"
    write_table(table, path)
    assert read_pair_evidence(path).shape == table.shape
    write_table(change(table), path)
    with pytest.raises(InputError, match=r"pair_evidence\.tsv.*" + message):
        read_pair_evidence(path)
