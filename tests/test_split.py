"""The split protocols (per-TF hard-negative, held-out TFs, held-out genes), their leakage
checks, and the pipeline's simulate -> split chain."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake
from grnlink import dataset
from grnlink.errors import InputError
from grnlink.genelink import genelink_files, read_genelink
from grnlink.io import write_table
from grnlink.settings import GenelinkDataset, GeoDataset, SimulatedDataset, UserFileDataset
from grnlink.split import (check_published, check_split, hard_negative_split, holdout_problems, protocol_split,
                           published_reference, read_split, write_checked_split)

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
    check_published(dict(rna.uns["benchmark"]), published_reference(name, GenelinkDataset(path=f"{BEELINE}/{name}/TFs+500")))
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
    assert published_reference("demo", SimulatedDataset()) is None
    assert published_reference("hHEP", user_file("hHEP.h5ad")) is None
    assert published_reference("beeline_l", GenelinkDataset(path="x/mHSC-L/TFs+1000")) == ("mHSC-L", 1000)
    assert published_reference("mHSC-GM-TFs1000", geo_dataset("mHSC", n_top_genes=1000)) == ("mHSC-GM", 1000)
    assert published_reference("hESC-TFs500", geo_dataset("hESC", n_top_genes=500)) == ("hESC", 500)


def user_file(path: str) -> UserFileDataset:
    return UserFileDataset(source="h5ad", path=path, network="network.csv", tfs="tfs.csv", cell_types=("a",))


def geo_dataset(series: str, **keys) -> GeoDataset:
    return GeoDataset(series=series, files={}, network="network.csv", tfs="tfs.csv", **keys)


@pytest.mark.slow
def test_pipeline_simulates_preprocesses_and_splits(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny.yaml").read_text())
    config["datasets"]["mHSC-L"] = {"source": "genelink", "path": str(BEELINE / "mHSC-L" / "TFs+500")}
    config["seeds"] = [0, 1]
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    targets = [f"results/{d}/splits/genelink/seed{s}.tsv" for d in ("tiny", "mHSC-L") for s in (0, 1)]
    proc = run_snakemake(tmp_path / "run", configfile, "--cores", "2", *targets, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run" / "results"
    assert (run / "tiny" / "raw" / "rna" / "matrix.mtx.gz").exists()
    rna, atac = dataset.load(run / "tiny" / "preprocessed.h5mu")
    assert atac is not None and set(rna.obs["cell_type"].cat.categories) == {"CT1", "CT2"}
    for name in ("tiny", "mHSC-L"):
        rna, _ = dataset.load(run / name / f"preprocessed.{'h5mu' if name == 'tiny' else 'h5ad'}")
        seeds = [read_split(run / name / "splits" / "genelink" / f"seed{s}.tsv") for s in (0, 1)]
        check_split(seeds[0], dataset.training_network(rna), dataset.benchmark_genes(rna))
        assert set(seeds[0]["TF"]) <= set(dataset.benchmark_tfs(rna))
        tests = [set(zip(s.loc[s["part"] == "test", "TF"], s.loc[s["part"] == "test", "Target"])) for s in seeds]
        assert tests[0] != tests[1]


def test_published_mismatch_stops_genelink_but_only_warns_for_geo_rebuilds(tmp_path, caplog):
    from grnlink.preprocess import preprocess_dataset

    folder = BEELINE / "mDC" / "TFs+500"
    pre = tmp_path / "mDC.h5ad"
    preprocess_dataset("mDC", GenelinkDataset(path=str(folder)), inputs=genelink_files(folder), output=pre)
    wrong = ("hHEP", 500)
    with pytest.raises(InputError, match="hHEP TFs\\+500: 20 TFs with targets, published 30"):
        write_checked_split(pre, 0, tmp_path / "strict.tsv", reference=wrong, strict_reference=True)
    assert not (tmp_path / "strict.tsv").exists()
    write_checked_split(pre, 0, tmp_path / "lenient.tsv", reference=wrong, strict_reference=False)
    assert "published 30" in caplog.text
    split = read_split(tmp_path / "lenient.tsv")
    assert (split["label"] == 1).sum() == 756
    write_checked_split(pre, 0, tmp_path / "right.tsv", reference=("mDC", 500))


# ---- held-out protocols ------------------------------------------------------------------
def shipped(name="mHSC-L"):
    rna = read_genelink(BEELINE / name / "TFs+500", name)
    return dataset.benchmark_genes(rna), dataset.training_network(rna), dataset.benchmark_tfs(rna)


def part_set(split, part, column):
    return set(split.loc[split["part"] == part, column])


def first_pair_moved_to_train(split, column, gene):
    """A copy of `split` with the first pair whose `column` is `gene` put into the train part."""
    moved = split.copy()
    moved.loc[moved.index[moved[column] == gene][0], "part"] = "train"
    return moved


def test_genelink_protocol_is_byte_identical_to_the_split_before_protocols(tmp_path):
    """sha256 of the split files that the code before the protocols existed (commit 4ebdcb6)
    wrote for these datasets and seeds: the default protocol must not change a byte."""
    import hashlib

    expected = {("hHEP", 0): "c4e7fc0553f5e767a7cfcfafb22537897e42eb1a0de41a3bc710983c9af5e500",
                ("mHSC-L", 7): "09267c2bac4f48da12c55815a781e778aba2e96bfacaa920c8c5a6a50b4eebdf"}
    for (name, seed), digest in expected.items():
        genes, network, tfs = shipped(name)
        write_table(protocol_split("genelink", genes, network, seed, tfs=tfs), tmp_path / "split.tsv")
        assert hashlib.sha256((tmp_path / "split.tsv").read_bytes()).hexdigest() == digest


def checked_fold_splits(protocol, folds):
    """The splits of seeds 0 .. folds-1 of mHSC-L, each passing `check_split`."""
    genes, network, tfs = shipped()
    for seed in range(folds):
        split = protocol_split(protocol, genes, network, seed, tfs=tfs, folds=folds)
        check_split(split, network, genes, protocol=protocol, tfs=tfs)
        yield split


def test_tf_holdout_keeps_test_tfs_out_of_training_and_validation():
    genes, network, tfs = shipped()
    tested = []
    for split in checked_fold_splits("tf_holdout", folds=5):
        test_tfs, val_tfs = part_set(split, "test", "TF"), part_set(split, "validation", "TF")
        seen = split[split["part"] != "test"]
        assert test_tfs and not test_tfs & (set(seen["TF"]) | set(seen["Target"]))
        train = split[split["part"] == "train"]
        assert val_tfs and not val_tfs & (set(train["TF"]) | set(train["Target"]))
        assert (split.loc[split["TF"].isin(test_tfs), "part"] == "test").all()
        assert (split.loc[split["part"] == "test", "label"].nunique()) == 2
        tested += sorted(test_tfs)
    assert sorted(tested) == sorted(network["Gene1"].unique())  # the folds test every TF once


def test_gene_holdout_keeps_test_genes_out_of_training_and_validation():
    genes, network, tfs = shipped()
    tested = []
    for split in checked_fold_splits("gene_holdout", folds=4):
        held = part_set(split, "test", "Target")
        seen = split[split["part"] != "test"]
        assert held and not held & (set(seen["TF"]) | set(seen["Target"]))
        assert not held & set(tfs)
        assert (split.loc[split["Target"].isin(held), "part"] == "test").all()
        tested += sorted(held)
    assert sorted(tested) == sorted(set(genes) - set(tfs) - set(network["Gene1"]))
    assert len(split) == network["Gene1"].nunique() * (len(genes) - 1)


@pytest.mark.parametrize("protocol", ["genelink", "tf_holdout", "gene_holdout"])
def test_protocols_are_seeded(protocol):
    genes, network, tfs = shipped()
    a, b, c = (protocol_split(protocol, genes, network, seed, tfs=tfs) for seed in (1, 1, 2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_a_leaking_tf_holdout_split_fails_naming_the_file():
    genes, network, tfs = shipped()
    split = protocol_split("tf_holdout", genes, network, 0, tfs=tfs)
    test_tf = sorted(part_set(split, "test", "TF"))[0]
    with pytest.raises(InputError, match=f"bad.tsv: held-out TF {test_tf} has pairs in several parts"):
        check_split(first_pair_moved_to_train(split, "TF", test_tf), network, genes, protocol="tf_holdout", tfs=tfs, source="bad.tsv")
    train_tf = sorted(part_set(split, "train", "TF"))[0]
    label = int((train_tf, test_tf) in set(zip(network["Gene1"], network["Gene2"])))
    as_target = pd.concat([split, pd.DataFrame([{"TF": train_tf, "Target": test_tf, "label": label, "part": "train"}])])
    with pytest.raises(InputError, match=f"bad.tsv: test TF {test_tf} appears as a target in the train part"):
        check_split(as_target, network, genes, protocol="tf_holdout", tfs=tfs, source="bad.tsv")
    with pytest.raises(InputError, match="keeps"):  # a dropped pair of a test TF
        check_split(split.drop(split.index[split["TF"] == test_tf][0]), network, genes, protocol="tf_holdout",
                    tfs=tfs, source="bad.tsv")


def test_a_leaking_gene_holdout_split_fails_naming_the_file():
    genes, network, tfs = shipped()
    split = protocol_split("gene_holdout", genes, network, 0, tfs=tfs)
    held = sorted(part_set(split, "test", "Target"))[0]
    with pytest.raises(InputError, match=f"bad.tsv: test gene {held} is also a target outside the test part"):
        check_split(first_pair_moved_to_train(split, "Target", held), network, genes, protocol="gene_holdout", tfs=tfs, source="bad.tsv")
    tf_held = split.copy()
    tf_gene = sorted(set(tfs) - set(network["Gene1"]))[0]
    tf_held.loc[tf_held["Target"] == tf_gene, "part"] = "test"
    with pytest.raises(InputError, match=f"held-out test gene {tf_gene} is a TF"):
        check_split(tf_held, network, genes, protocol="gene_holdout", tfs=tfs, source="bad.tsv")


def test_wrong_labels_and_a_test_part_without_positives_fail():
    genes, network, tfs = shipped()
    split = protocol_split("genelink", genes, network, 0, tfs=tfs)
    flipped = split.copy()
    flipped.loc[0, "label"] = 1 - flipped.loc[0, "label"]
    with pytest.raises(InputError, match="s.tsv: pair .* has label"):
        check_split(flipped, network, genes, source="s.tsv")
    no_positive = split[~((split["part"] == "test") & (split["label"] == 1))]
    with pytest.raises(InputError, match="test part needs positive and negative pairs"):
        check_split(no_positive, network, genes, source="s.tsv")


def test_too_few_tfs_for_the_folds_fail_in_the_split_job_naming_the_file(tmp_path):
    from grnlink.preprocess import preprocess_dataset

    folder = BEELINE / "mHSC-L" / "TFs+500"
    pre = tmp_path / "mHSC-L.h5ad"
    preprocess_dataset("mHSC-L", GenelinkDataset(path=str(folder)), inputs=genelink_files(folder), output=pre)
    with pytest.raises(InputError, match=f"{pre}: split protocol tf_holdout: 16 to hold out in 20 folds"):
        write_checked_split(pre, 0, tmp_path / "s.tsv", protocol="tf_holdout", folds=20)
    assert not (tmp_path / "s.tsv").exists()


def test_holdout_problems_name_the_config_keys():
    datasets = {
        "small": SimulatedDataset(n_tfs=4),
        "mHSC-L": GenelinkDataset(path=str(BEELINE / "mHSC-L" / "TFs+500")),
        "mine": user_file("x.h5ad"),
    }
    problems = holdout_problems(datasets, ["genelink", "tf_holdout", "gene_holdout"], folds=5, validation_share=0.1)
    assert problems == [
        "key 'split.protocols': tf_holdout on dataset small: 4 to hold out in 5 folds leave no test fold, "
        "validation and training part (4 TFs with targets from datasets.small.n_tfs; lower split.holdout_folds)"
    ]
    assert len(holdout_problems(datasets, ["tf_holdout"], folds=17, validation_share=0.1)) == 2
    assert holdout_problems(datasets, ["genelink"], folds=15, validation_share=0.1) == []
