"""The grn stage inside the workflow: outputs of the tiny run, the motif scan rule, config checks."""

from __future__ import annotations

import anndata as ad
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import ROOT, run_snakemake

from grnlink import dataset
from grnlink.grn.evidence import EVIDENCE_GROUPS, evidence_columns, read_pair_evidence

@pytest.mark.slow
def test_tiny_run_has_the_grn_outputs(finished_tiny_run):
    results = finished_tiny_run / "results" / "tiny"
    rna, atac = dataset.load(results / "preprocessed.h5mu")
    tfs, genes = dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna)
    for cell_type in ("CT1", "CT2"):
        table = pd.read_csv(results / "grn" / "celltype" / f"{cell_type}.tsv", sep="\t", keep_default_na=False)
        assert list(table.columns[:5]) == ["TF", "target", "importance", "atac_support", "peaks"]
        assert set(table["TF"]) <= set(tfs) and set(table["target"]) <= set(genes)
    baseline = pd.read_csv(results / "grn" / "baseline_scores.tsv", sep="\t")
    assert list(baseline.columns) == ["TF", "Target", "pearson", "grnboost2", "celltype_grn"]
    assert len(baseline) == len(tfs) * len(genes) - len(tfs)
    assert baseline["pearson"].between(0, 1).all()
    cell_specific = ad.read_h5ad(results / "grn" / "cell_specific.h5ad")
    assert cell_specific.n_obs == rna.n_obs and {"TF", "target"} <= set(cell_specific.var.columns)
    assert sp.issparse(cell_specific.layers["aucell"]) and sp.issparse(cell_specific.layers["csn"])
    assert "versions" in cell_specific.uns["grnlink"]
    evaluation = pd.read_csv(results / "grn" / "evaluation.tsv", sep="\t")
    assert {"split", "cell_type"} <= set(evaluation["scope"])
    assert {"pearson", "grnboost2", "atac_supported"} <= set(evaluation["network"])
    evidence = read_pair_evidence(results / "grn" / "pair_evidence.tsv")
    assert list(zip(evidence["TF"], evidence["Target"])) == [(tf, g) for tf in tfs for g in genes if g != tf]
    assert list(evidence.columns[2:]) == list(evidence_columns(EVIDENCE_GROUPS))  # paired: every group


def tiny_config_with(tmp_path, grn: dict):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny.yaml").read_text())
    config["grn"] = grn
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_genome_fasta_adds_the_motif_scan(tmp_path):
    fasta = tmp_path / "genome.fa"
    fasta.write_text(">chr1\nACGT\n")
    config = tiny_config_with(tmp_path, {"genome_fasta": {"tiny": str(fasta)}})
    result = run_snakemake(tmp_path, config, "-n", "--cores", "2", "results/tiny/grn/celltype/CT1.tsv", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "grn_motif_scan" in result.stdout


def test_an_out_of_range_grn_setting_is_rejected(tmp_path):
    config = tiny_config_with(tmp_path, {"max_trees": 0})
    result = run_snakemake(tmp_path, config, "-n", "--cores", "2", timeout=120)
    assert result.returncode != 0
    assert "max_trees" in result.stdout + result.stderr
