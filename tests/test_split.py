"""The per-TF hard-negative split, its check, and the pipeline's simulate -> split chain."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake
from grnlink import dataset
from grnlink.errors import InputError
from grnlink.genelink import read_genelink
from grnlink.split import check_published, check_split, hard_negative_split, published_reference, read_split

BEELINE = ROOT / "resources" / "beeline"


def toy():
    genes = [f"G{i}" for i in range(40)]
    network = pd.DataFrame({
        "Gene1": ["G0"] * 20 + ["G1"] * 2 + ["G2"],
        "Gene2": [f"G{i}" for i in range(5, 25)] + ["G30", "G31", "G32"],
    })
    return genes, network


@pytest.mark.parametrize("name", ["hHEP", "mDC", "mHSC-L"])
def test_shipped_datasets_split_cleanly_with_published_sizes(name):
    rna = read_genelink(BEELINE / name / "TFs+500", name)
    genes, network = dataset.benchmark_genes(rna), dataset.training_network(rna)
    split = hard_negative_split(genes, network, seed=0)
    check_split(split, network, genes)
    check_published(dict(rna.uns["benchmark"]), published_reference(name, {"source": "genelink", "path": f"{BEELINE}/{name}/TFs+500"}))
    n_tfs = network["Gene1"].nunique()
    assert len(split) == n_tfs * (len(genes) - 1)
    shares = split["part"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.67, abs=0.01)
    assert shares["validation"] == pytest.approx(0.10, abs=0.01)
    assert shares["test"] == pytest.approx(0.23, abs=0.01)
    positives = split[split["label"] == 1]
    assert len(positives) == len(network)
    for part, fraction in (("train", 0.67), ("test", 0.23)):
        assert (positives["part"] == part).sum() == pytest.approx(fraction * len(network), abs=n_tfs)


def test_split_is_seeded():
    genes, network = toy()
    a, b, c = (hard_negative_split(genes, network, seed) for seed in (1, 1, 2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_small_tfs_follow_genelink_rules():
    genes, network = toy()
    split = hard_negative_split(genes, network, seed=3)
    check_split(split, network, genes)
    two = split[(split["TF"] == "G1") & (split["label"] == 1)]
    assert sorted(two["part"]) == ["test", "train"]
    one = split[(split["TF"] == "G2") & (split["label"] == 1)]
    assert list(one["part"]) in (["train"], ["test"])
    assert not ((split["TF"] == split["Target"]).any())


def test_check_catches_leaks_and_bad_sizes():
    genes, network = toy()
    split = hard_negative_split(genes, network, seed=4)
    leaked = pd.concat([split, split.iloc[[0]].assign(part="test")], ignore_index=True)
    with pytest.raises(InputError, match="appears more than once"):
        check_split(leaked, network, genes, source="s.tsv")
    no_test = split.copy()
    no_test.loc[no_test["TF"] == "G0", "part"] = "train"
    with pytest.raises(InputError, match="TF G0 is missing from \\['test'\\]"):
        check_split(no_test, network, genes)
    skewed = split.copy()
    rows = skewed.index[(skewed["TF"] == "G0") & (skewed["label"] == 0) & (skewed["part"] == "train")][:5]
    skewed.loc[rows, "part"] = "validation"
    with pytest.raises(InputError, match="within rounding"):
        check_split(skewed, network, genes)


def test_published_numbers_mismatch_is_reported():
    summary = {"n_tfs_with_targets": 30, "n_network_genes": 874, "density": 0.30}
    with pytest.raises(InputError, match="density"):
        check_published(summary, ("hHEP", 500))
    assert published_reference("demo", {"source": "simulate"}) is None
    assert published_reference("hHEP", {"source": "h5ad", "path": "hHEP.h5ad"}) is None
    assert published_reference("beeline_l", {"source": "genelink", "path": "x/mHSC-L/TFs+1000"}) == ("mHSC-L", 1000)
    assert published_reference("mHSC-GM-TFs1000", {"source": "geo", "n_top_genes": 1000}) == ("mHSC-GM", 1000)
    assert published_reference("hESC-TFs500", {"source": "geo", "n_top_genes": 500}) == ("hESC", 500)


@pytest.mark.slow
def test_pipeline_simulates_preprocesses_and_splits(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny.yaml").read_text())
    config["datasets"]["mHSC-L"] = {"source": "genelink", "path": str(BEELINE / "mHSC-L" / "TFs+500")}
    config["seeds"] = [0, 1]
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    targets = [f"results/{d}/splits/seed{s}.tsv" for d in ("tiny", "mHSC-L") for s in (0, 1)]
    proc = run_snakemake(tmp_path / "run", configfile, "--cores", "2", *targets, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run" / "results"
    assert (run / "tiny" / "raw" / "rna" / "matrix.mtx.gz").exists()
    rna, atac = dataset.load(run / "tiny" / "preprocessed.h5mu")
    assert atac is not None and set(rna.obs["cell_type"].cat.categories) == {"CT1", "CT2"}
    for name in ("tiny", "mHSC-L"):
        rna, _ = dataset.load(run / name / f"preprocessed.{'h5mu' if name == 'tiny' else 'h5ad'}")
        seeds = [read_split(run / name / "splits" / f"seed{s}.tsv") for s in (0, 1)]
        check_split(seeds[0], dataset.training_network(rna), dataset.benchmark_genes(rna))
        assert set(seeds[0]["TF"]) <= set(dataset.benchmark_tfs(rna))
        tests = [set(zip(s.loc[s["part"] == "test", "TF"], s.loc[s["part"] == "test", "Target"])) for s in seeds]
        assert tests[0] != tests[1]


def test_published_mismatch_stops_genelink_but_only_warns_for_geo_rebuilds(tmp_path, caplog):
    from grnlink.preprocess import preprocess_dataset
    from grnlink.split import write_checked_split

    folder = BEELINE / "mDC" / "TFs+500"
    pre = tmp_path / "mDC.h5ad"
    preprocess_dataset("mDC", {"source": "genelink", "path": str(folder)},
                       {"expression": str(folder / "BL--ExpressionData.csv")}, pre)
    wrong = ("hHEP", 500)
    with pytest.raises(InputError, match="hHEP TFs\\+500: 20 TFs with targets, published 30"):
        write_checked_split(pre, 0, tmp_path / "strict.tsv", reference=wrong, strict_reference=True)
    assert not (tmp_path / "strict.tsv").exists()
    write_checked_split(pre, 0, tmp_path / "lenient.tsv", reference=wrong, strict_reference=False)
    assert "published 30" in caplog.text
    split = read_split(tmp_path / "lenient.tsv")
    assert (split["label"] == 1).sum() == 756
    write_checked_split(pre, 0, tmp_path / "right.tsv", reference=("mDC", 500))
