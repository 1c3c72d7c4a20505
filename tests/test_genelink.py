"""GENELink folders: the shipped BEELINE datasets import with the published sizes; export
round-trips; bad folders fail naming the file and leave nothing behind."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from grnlink import dataset
from grnlink.errors import InputError
from grnlink.genelink import export_genelink, genelink_files, read_genelink
from grnlink.preprocess import preprocess_dataset
from grnlink.settings import GenelinkDataset

BEELINE = ROOT / "resources" / "beeline"
# BEELINE.md table, TFs+500: cells, TFs with targets, genes, density (BEELINE paper).
PUBLISHED = {"hHEP": (426, 30, 874, 0.379), "mDC": (384, 20, 443, 0.085), "mHSC-L": (848, 16, 525, 0.525)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_shipped_dataset_reproduces_published_sizes(name):
    rna = read_genelink(BEELINE / name / "TFs+500", name)
    cells, tfs, genes, density = PUBLISHED[name]
    summary = rna.uns["benchmark"]
    # The published cell count includes the header cell of the expression file.
    assert rna.n_obs == cells - 1
    assert summary["n_tfs_with_targets"] == tfs
    # GENELink's mDC folder has 448 network genes where the table says 443.
    assert abs(summary["n_network_genes"] - genes) <= 0.015 * genes
    assert summary["density"] == pytest.approx(density, abs=0.0015)
    assert list(rna.obs["cell_type"].cat.categories) == [name]
    source = pd.read_csv(BEELINE / name / "TFs+500" / "BL--network.csv")
    assert set(zip(source["Gene1"], source["Gene2"])) == set(zip(rna.uns["network"]["Gene1"], rna.uns["network"]["Gene2"]))


def test_export_then_import_round_trips(tmp_path):
    rna = read_genelink(BEELINE / "mHSC-L" / "TFs+500", "mHSC-L")
    export_genelink(rna, tmp_path / "out")
    again = read_genelink(tmp_path / "out", "mHSC-L")
    assert list(again.var_names) == list(rna.var_names)
    assert list(again.obs_names) == list(rna.obs_names)
    np.testing.assert_array_equal(again.X, rna.X)
    assert dataset.benchmark_tfs(again) == dataset.benchmark_tfs(rna)
    pd.testing.assert_frame_equal(dataset.training_network(again), dataset.training_network(rna))
    original = pd.read_csv(BEELINE / "mHSC-L" / "TFs+500" / "Label.csv", index_col=0)
    exported = pd.read_csv(tmp_path / "out" / "Label.csv", index_col=0)
    assert sorted(map(tuple, exported.to_numpy())) == sorted(map(tuple, original.to_numpy()))


def test_preprocess_writes_a_loadable_h5ad(tmp_path):
    folder = BEELINE / "mDC" / "TFs+500"
    preprocess_dataset("mDC", GenelinkDataset(path=str(folder)), inputs=genelink_files(folder),
                       output=tmp_path / "p.h5ad")
    rna, atac = dataset.load(tmp_path / "p.h5ad")
    assert atac is None and rna.var["selected"].all()
    assert rna.uns["benchmark"]["n_tfs_with_targets"] == 20


def edit(path, transform):
    path.write_text(transform(path.read_text()))


@pytest.mark.parametrize(
    "file, transform, message",
    [
        ("BL--ExpressionData.csv", lambda t: t.replace(",", ";"), "mis-delimited"),
        ("BL--ExpressionData.csv", lambda t: t[: len(t) - 2000], "truncated"),
        ("BL--ExpressionData.csv", lambda t: t.replace(",0.0,", ",abc,", 1), "non-numeric"),
        ("TF.csv", lambda t: t + "9999,NOT_A_GENE,3\n", "unknown gene ids"),
        ("Target.csv", lambda t: t + "9999,NOT_A_GENE,9999\n", "unknown gene ids"),
        ("Label.csv", lambda t: t + "99999,0,100000\n", "unknown gene ids"),
    ],
)
def test_bad_folder_names_the_file_and_writes_nothing(tmp_path, file, transform, message):
    folder = tmp_path / "mHSC-L"
    shutil.copytree(BEELINE / "mHSC-L" / "TFs+500", folder)
    edit(folder / file, transform)
    out = tmp_path / "out" / "p.h5ad"
    with pytest.raises(InputError, match=message) as error:
        preprocess_dataset("mHSC-L", GenelinkDataset(path=str(folder)), inputs=genelink_files(folder), output=out)
    assert str(error.value).startswith(str(folder / file))
    assert not out.exists()


def test_labels_without_any_listed_tf_are_rejected(tmp_path):
    folder = tmp_path / "mDC"
    shutil.copytree(BEELINE / "mDC" / "TFs+500", folder)
    (folder / "TF.csv").write_text(",TF,index\n0,CLEC4E,0\n")
    with pytest.raises(InputError, match=r"Label\.csv: no TF of the network"):
        read_genelink(folder, "mDC")


def copy_of(name: str, tmp_path):
    folder = tmp_path / name
    shutil.copytree(BEELINE / name / "TFs+500", folder)
    return folder


def relist(column: str, row: int, value: str):
    """A transform that writes `value` into `column` of data row `row` (file line row + 2)."""
    def transform(text: str) -> str:
        lines = text.splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        fields = lines[row + 1].rstrip("\n").split(",")
        fields[header.index(column)] = value
        lines[row + 1] = ",".join(fields) + "\n"
        return "".join(lines)
    return transform


def field_of(path, column: str, row: int) -> str:
    return pd.read_csv(path, dtype=str)[column].iat[row]


@pytest.mark.parametrize("file, column", [("Target.csv", "Gene"), ("TF.csv", "TF"), ("Target.csv", "index"),
                                          ("TF.csv", "index")])
def test_a_gene_or_index_listed_twice_names_file_line_and_value(tmp_path, file, column):
    """A repeated gene (or index) would silently move one gene's ground-truth edges to another."""
    folder = copy_of("mHSC-L", tmp_path)
    repeated = field_of(folder / file, column, 0)
    edit(folder / file, relist(column, 3, repeated))
    what = "index" if column == "index" else "gene"
    with pytest.raises(InputError) as error:
        read_genelink(folder, "mHSC-L")
    assert str(error.value) == f"{folder / file}, line 5: {what} {repeated} is listed twice (first on line 2)"


def test_unknown_label_index_is_printed_as_a_plain_number(tmp_path):
    folder = copy_of("mHSC-L", tmp_path)
    edit(folder / "Label.csv", lambda t: t + "99999,0,9999\n")
    with pytest.raises(InputError, match=r"Label\.csv, line \d+: unknown gene ids: Target index 9999 is not in") as error:
        read_genelink(folder, "mHSC-L")
    assert "np." not in str(error.value)


def test_expression_file_with_only_a_header_says_so(tmp_path):
    folder = copy_of("mDC", tmp_path)
    edit(folder / "BL--ExpressionData.csv", lambda t: t.splitlines(keepends=True)[0])
    with pytest.raises(InputError) as error:
        read_genelink(folder, "mDC")
    assert str(error.value) == f"{folder / 'BL--ExpressionData.csv'}: has no gene rows, only a header"
