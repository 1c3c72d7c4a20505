"""Preprocessing: the contract of the preprocessed object, gene selection, the data
sources, and bad input."""

from __future__ import annotations

import dataclasses
import gzip
import shutil

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT
from grnlink import dataset
from grnlink.benchmark import BONFERRONI_ALPHA, build_benchmark, restrict_network, select_genes, variance_test_pvalues
from grnlink.errors import InputError
from grnlink.preprocess import preprocess_dataset
from grnlink.settings import DATASET_SETTINGS, GenelinkDataset, GeoDataset, SimulatedDataset, UserFileDataset
from grnlink.simulate import simulate, write_raw
from grnlink.sources import SOURCES, WorkflowPaths

SCHEMA = ROOT / "workflow" / "schemas" / "dataset.schema.yaml"
BEELINE_NETWORKS = ROOT / "tests" / "data" / "geo" / "BEELINE-Networks"
SIM = SimulatedDataset(n_cells=300, n_cell_types=3, n_tfs=12, n_genes=100, n_peaks=700, seed=2, n_top_genes=60)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim") / "raw"
    params = SIM.simulation()
    write_raw(simulate(params), params, folder)
    return folder


@pytest.fixture(scope="module")
def preprocessed(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "preprocessed.h5mu"
    preprocess_dataset("sim", SIM, inputs={"raw": str(raw)}, output=out)
    return dataset.load(out)


def test_preprocessed_object_follows_the_contract(preprocessed):
    rna, atac = preprocessed
    assert list(rna.obs["cell_type"].cat.categories) == ["CT1", "CT2", "CT3"]
    assert (rna.obs["cell_type"].value_counts() > 0).all()
    assert rna.var_names.is_unique and rna.X.dtype == np.float32
    counts = rna.layers["counts"].toarray()
    assert np.allclose(counts, np.round(counts)) and counts.max() > 10
    assert np.allclose(np.expm1(rna.X.toarray()).sum(axis=1), 1e4, rtol=1e-3)
    assert rna.var["tss"].dtype == np.int64 and rna.var["chrom"].str.startswith("chr").all()
    tfs = set(dataset.benchmark_tfs(rna))
    genes = set(dataset.benchmark_genes(rna))
    network = rna.uns["network"]
    assert list(network.columns) == ["Gene1", "Gene2", "cell_type"]
    assert set(network["Gene1"]) <= tfs and set(network["Gene2"]) <= genes
    assert not (network["Gene1"] == network["Gene2"]).any()
    assert not network.duplicated().any()
    assert set(network["cell_type"]) <= {"CT1", "CT2", "CT3"}
    summary = rna.uns["benchmark"]
    edges = network[["Gene1", "Gene2"]].drop_duplicates()
    assert summary["n_edges"] == len(edges) and summary["n_genes"] == len(genes)
    assert summary["n_tfs_with_targets"] == edges["Gene1"].nunique()
    assert 0 < summary["density"] < 1
    assert list(atac.obs_names) == list(rna.obs_names)
    assert {"chrom", "start", "end"} <= set(atac.var.columns)
    assert (atac.var["end"] > atac.var["start"]).all()
    assert atac.obsm["X_lsi"].shape[0] == atac.n_obs
    assert set(atac.uns["motif_hits"]["peak"]) <= set(atac.var_names)
    assert set(atac.uns["motif_hits"]["TF"]) <= set(rna.var_names[rna.var["is_tf"]])


def test_variance_test_passes_structured_genes_and_rejects_noise():
    rng = np.random.default_rng(0)
    n_cells, n_structured, n_noise = 400, 40, 200
    group = rng.integers(0, 3, n_cells)
    time = rng.random(n_cells)
    structured = np.column_stack(
        [np.sin(3 * time + k) + 0.8 * (group == k % 3) for k in range(n_structured)]
    ) + rng.normal(0, 0.5, (n_cells, n_structured))
    noise = rng.normal(0, 1.0, (n_cells, n_noise)) * rng.uniform(0.5, 3, n_noise)
    pvalues = variance_test_pvalues(np.hstack([structured, noise]))
    threshold = BONFERRONI_ALPHA / (n_structured + n_noise)
    assert (pvalues[:n_structured] < threshold).mean() > 0.9
    assert (pvalues[n_structured:] < threshold).sum() <= 2
    # Under the null the p-values are roughly uniform, not piled up at 0.
    assert 0.3 < np.median(pvalues[n_structured:]) < 0.7


def test_selection_keeps_significant_tfs_and_top_variable_targets():
    rng = np.random.default_rng(1)
    n_cells = 300
    axis = rng.normal(size=n_cells)
    scales = np.linspace(0.5, 3.0, 30)
    x = np.column_stack([s * axis + rng.normal(0, 0.3, n_cells) for s in scales])
    x = np.hstack([x, rng.normal(0, 0.01, (n_cells, 5))]).astype(np.float32)
    names = [f"G{i}" for i in range(x.shape[1])]
    rna = ad.AnnData(x, var=pd.DataFrame(index=names))
    tfs = ["G0", "G1", "G31"]  # two weak but significant TFs, one non-significant
    selection = select_genes(rna, tfs, n_top_genes=5)
    chosen = set(selection.index[selection["selected"]])
    assert chosen == {"G0", "G1", "G25", "G26", "G27", "G28", "G29"}
    assert selection["is_tf"].sum() == 3


def test_restrict_network_drops_self_loops_duplicates_and_outsiders():
    network = pd.DataFrame({
        "Gene1": ["A", "A", "A", "B", "X", "A", "C"],
        "Gene2": ["B", "B", "A", "C", "B", "Y", "A"],
    })
    restricted = restrict_network(network, genes=["A", "B", "C"], tfs=["A", "B"])
    assert sorted(zip(restricted["Gene1"], restricted["Gene2"])) == [("A", "B"), ("B", "C")]


def expression(n_cells=200, genes=("A", "B", "C", "D")) -> ad.AnnData:
    rng = np.random.default_rng(2)
    rna = ad.AnnData(rng.random((n_cells, len(genes))).astype(np.float32), var=pd.DataFrame(index=list(genes)))
    rna.obs["cell_type"] = pd.Categorical(["x"] * n_cells)
    return rna


def test_network_without_tf_in_data_names_its_file():
    network = pd.DataFrame({"Gene1": ["A", "Q"], "Gene2": ["B", "C"]})
    with pytest.raises(InputError, match=r"^net\.csv: no TF of the network"):
        build_benchmark(expression(), network, tfs=["Q", "Z"], n_top_genes=2, source="net.csv")


def test_network_with_unknown_gene_ids_names_its_file():
    network = pd.DataFrame({"Gene1": ["ENSG01"], "Gene2": ["ENSG02"]})
    with pytest.raises(InputError, match=r"^net\.csv: unknown gene ids"):
        build_benchmark(expression(), network, tfs=["ENSG01"], n_top_genes=2, source="net.csv")


def corrupt_copy(raw, tmp_path, name, transform):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    path = copy / name
    if name.endswith(".gz"):
        text = gzip.decompress(path.read_bytes()).decode()
        path.write_bytes(gzip.compress(transform(text).encode()))
    else:
        path.write_text(transform(path.read_text()))
    return copy


def first_edge(text: str) -> str:
    """`Gene1,Gene2` of the first edge of a ground-truth CSV."""
    return text.splitlines()[1].rsplit(",", 2)[0]


def drop_lines(k):
    return lambda text: "".join(text.splitlines(keepends=True)[:-k])


@pytest.mark.parametrize(
    "name, transform, message",
    [
        ("rna/matrix.mtx.gz", lambda t: t[: len(t) // 2], "truncated"),
        ("rna/matrix.mtx.gz", drop_lines(50), "truncated"),
        ("atac/matrix.mtx.gz", lambda t: t.replace(" ", ","), "mis-delimited"),
        ("rna/features.tsv.gz", lambda t: t.replace("\t", ";"), "tab-separated"),
        ("ground_truth.csv", lambda t: t + "TF_X,NOT_A_GENE,CT1,1\n", "unknown gene ids"),
        ("ground_truth.csv", lambda t: t + first_edge(t) + ",CT9,1\n", r"cell type\(s\) \['CT9'\]"),
        ("genes.tsv", lambda t: "".join(t.splitlines(keepends=True)[:-3]), "unknown gene ids"),
        ("motif_hits.tsv", lambda t: t + t.splitlines()[1].split("\t")[0] + "\tchr1:1-2\n", "unknown peaks"),
    ],
)
def test_bad_raw_input_names_the_file_and_leaves_no_output(raw, tmp_path, name, transform, message):
    bad = corrupt_copy(raw, tmp_path, name, transform)
    out = tmp_path / "out" / "preprocessed.h5mu"
    with pytest.raises(InputError, match=message) as error:
        preprocess_dataset("sim", SIM, inputs={"raw": str(bad)}, output=out)
    assert str(error.value).startswith(str(bad / name))
    assert not out.parent.exists() or not any(out.parent.iterdir())


def user_tfs(raw, folder) -> str:
    """The simulated TFs as a user's TF list."""
    pd.read_csv(raw / "motif_hits.tsv", sep="\t")[["TF"]].drop_duplicates().to_csv(folder / "tfs.csv", index=False)
    return str(folder / "tfs.csv")


@pytest.fixture
def user_h5ad(raw, tmp_path):
    """The simulated RNA as a user's .h5ad with a network and a TF list beside it."""
    import scanpy as sc

    rna = sc.read_10x_mtx(raw / "rna", var_names="gene_symbols")
    labels = pd.read_csv(raw / "cell_types.tsv", sep="\t", index_col=0)["cell_type"]
    rna.obs["cell_type"] = labels.loc[rna.obs_names].to_numpy()
    rna.write_h5ad(tmp_path / "user.h5ad")
    return {"data": str(tmp_path / "user.h5ad"), "network": str(raw / "ground_truth.csv"), "tfs": user_tfs(raw, tmp_path)}


@pytest.fixture
def user_h5mu(raw, tmp_path):
    """The simulated RNA + ATAC as a user's .h5mu (labels in obs `label`), with a network,
    a TF list, motif hits and a gene annotation beside it."""
    import mudata
    import scanpy as sc

    rna = sc.read_10x_mtx(raw / "rna", var_names="gene_symbols")
    atac = sc.read_10x_mtx(raw / "atac", var_names="gene_symbols", gex_only=False)
    labels = pd.read_csv(raw / "cell_types.tsv", sep="\t", index_col=0)["cell_type"]
    rna.obs["label"] = labels.loc[rna.obs_names].to_numpy()
    mudata.MuData({"rna": rna, "atac": atac}).write_h5mu(tmp_path / "user.h5mu")
    return {"data": str(tmp_path / "user.h5mu"), "network": str(raw / "ground_truth.csv"), "tfs": user_tfs(raw, tmp_path),
            "motif_hits": str(raw / "motif_hits.tsv"), "genes": str(raw / "genes.tsv")}


def user_file(source: str, files: dict[str, str], **keys) -> UserFileDataset:
    """A `source: h5ad/h5mu` entry naming `files` (roles as the preprocess job's inputs)."""
    named = {"path": files["data"], "network": files["network"], "tfs": files["tfs"],
             **{role: files[role] for role in ("genes", "motif_hits") if role in files}}
    return UserFileDataset(source=source, **named, **{"cell_types": ("CT1", "CT2", "CT3"), **keys})


def test_user_h5ad_source_is_preprocessed(user_h5ad, tmp_path):
    settings = user_file("h5ad", user_h5ad, n_top_genes=40)
    preprocess_dataset("user", settings, inputs=user_h5ad, output=tmp_path / "user_pre.h5ad")
    rna, atac = dataset.load(tmp_path / "user_pre.h5ad")
    assert atac is None
    assert rna.layers["counts"].max() > 10
    assert rna.uns["benchmark"]["n_edges"] == len(dataset.training_network(rna)) > 0


def test_empty_configured_cell_type_names_the_file(user_h5ad, tmp_path):
    settings = user_file("h5ad", user_h5ad, cell_types=("CT1", "CT2", "CT3", "CT4"))
    out = tmp_path / "out" / "user_pre.h5ad"
    with pytest.raises(InputError, match=r"user\.h5ad: cell type\(s\) \['CT4'\] have no cells"):
        preprocess_dataset("user", settings, inputs=user_h5ad, output=out)
    assert not out.exists()


def test_cell_type_emptied_by_qc_is_reported(raw, tmp_path):
    settings = dataclasses.replace(SIM, min_genes_per_cell=10_000)
    with pytest.raises(InputError, match="no cells left after the QC filters"):
        preprocess_dataset("sim", settings, inputs={"raw": str(raw)}, output=tmp_path / "x.h5mu")


def test_user_h5mu_source_keeps_both_modalities(user_h5mu, tmp_path):
    settings = user_file("h5mu", user_h5mu, cell_type_key="label", n_top_genes=40)
    preprocess_dataset("user", settings, inputs=user_h5mu, output=tmp_path / "pre.h5mu")
    rna, atac = dataset.load(tmp_path / "pre.h5mu")
    assert "X_lsi" in atac.obsm and len(atac.uns["motif_hits"]) > 0
    assert (rna.var["tss"] > 0).all()
    assert rna.uns["benchmark"]["n_tfs_with_targets"] > 0


HESC = GeoDataset(series="hESC", n_top_genes=20, files={"expression": "GSE75748_sc_time_course_ec.csv",
                                                         "networks": "BEELINE-Networks.zip"},
                  network="Networks/human/hESC-ChIP-seq-network.csv", tfs="human-tfs.csv")


def write_hesc_like_series(folder) -> str:
    """A synthetic hESC-format time course (genes x cells counts) in `folder`; its path."""
    rng = np.random.default_rng(7)
    times = np.repeat([0, 12, 24, 36, 72, 96], 30)
    cells = [f"H9.{t:02d}h_{i:03d}" for i, t in enumerate(times)]
    named = ["POU5F1", "NANOG", "SOX2", "GATA6", "EOMES"]
    # Flat genes are the majority so that median-ratio size factors do not follow time.
    genes = named + [f"TIME{i}" for i in range(30)] + [f"FLAT{i}" for i in range(150)]
    slope = np.r_[rng.choice([-1, 1], 35) * rng.uniform(0.015, 0.04, 35), np.zeros(150)]
    rate = np.exp(3 + np.outer(slope, times - 48))
    counts = pd.DataFrame(rng.poisson(rate), index=genes, columns=cells)
    counts.to_csv(folder / HESC.files["expression"])
    return str(folder / HESC.files["expression"])


def test_geo_source_goes_through_build_benchmark(tmp_path):
    """Time-driven genes of the hESC-like series pass the variance test."""
    inputs = {"expression": write_hesc_like_series(tmp_path), "networks": str(BEELINE_NETWORKS)}
    preprocess_dataset("hESC-TFs500", HESC, inputs=inputs, output=tmp_path / "pre.h5ad")
    rna, _ = dataset.load(tmp_path / "pre.h5ad")
    selected = set(dataset.benchmark_genes(rna))
    assert len(selected & {f"FLAT{i}" for i in range(150)}) <= 2
    assert (rna.var["selected"] & ~rna.var["is_tf"]).sum() == 20
    edges = {("POU5F1", "NANOG"), ("POU5F1", "SOX2"), ("NANOG", "POU5F1"), ("GATA6", "EOMES")}
    tfs = set(dataset.benchmark_tfs(rna))
    expected = {(a, b) for a, b in edges if a in tfs and b in selected}
    assert set(dataset.training_network(rna).itertuples(index=False, name=None)) == expected
    assert len(expected) >= 3


def test_load_rna_reads_only_the_rna_modality(raw, tmp_path):
    out = tmp_path / "pre.h5mu"
    preprocess_dataset("sim", SIM, inputs={"raw": str(raw)}, output=out)
    rna = dataset.load_rna(out)
    full, _ = dataset.load(out)
    assert list(rna.var_names) == list(full.var_names)
    pd.testing.assert_frame_equal(rna.uns["network"], full.uns["network"])
    with pytest.raises(InputError, match="file not found"):
        dataset.load_rna(tmp_path / "missing.h5mu")


def test_log_data_declared_as_counts_is_rejected(user_h5ad, tmp_path):
    rna = ad.read_h5ad(user_h5ad["data"])
    rna.X = np.log1p(rna.X.toarray())
    rna.write_h5ad(tmp_path / "logged.h5ad")
    inputs = {**user_h5ad, "data": str(tmp_path / "logged.h5ad")}
    settings = user_file("h5ad", inputs)
    with pytest.raises(InputError, match=r"logged\.h5ad: X holds non-integer"):
        preprocess_dataset("user", settings, inputs=inputs, output=tmp_path / "out.h5ad")
    preprocess_dataset("user", dataclasses.replace(settings, normalize=False), inputs=inputs,
                       output=tmp_path / "out.h5ad")
    rna, _ = dataset.load(tmp_path / "out.h5ad")
    assert "counts" not in rna.layers


# ---- the data sources ------------------------------------------------------------------
def test_every_source_of_the_schema_has_an_entry_and_settings():
    sources = yaml.safe_load(SCHEMA.read_text())["properties"]["source"]["enum"]
    assert sorted(SOURCES) == sorted(sources) == sorted(DATASET_SETTINGS)


class RecordedInputs(dict):
    """Input files by role that remember which roles were read."""

    def __init__(self, inputs: dict[str, str]):
        super().__init__(inputs)
        self.read: set[str] = set()

    def __getitem__(self, role: str) -> str:
        self.read.add(role)
        return super().__getitem__(role)


def nowhere(name: str) -> str:
    raise AssertionError(f"{name}: this source reads no file the workflow makes")


@pytest.fixture
def source_case(request, raw, tmp_path):
    """(dataset name, settings, workflow paths) of a small dataset of the source `request.param`."""
    source = request.param
    if source == "simulate":
        return "sim", SIM, WorkflowPaths(download=nowhere, simulated_raw={"sim": str(raw)}.__getitem__)
    if source == "genelink":
        folder = ROOT / "resources" / "beeline" / "mDC" / "TFs+500"
        return "mDC", GenelinkDataset(path=str(folder)), WorkflowPaths(download=nowhere, simulated_raw=nowhere)
    if source == "geo":
        downloads = {HESC.files["expression"]: write_hesc_like_series(tmp_path),
                     HESC.files["networks"]: str(BEELINE_NETWORKS)}
        return "hESC-TFs500", HESC, WorkflowPaths(download=downloads.__getitem__, simulated_raw=nowhere)
    files = request.getfixturevalue(f"user_{source}")
    # Motif hits are h5mu data: an h5ad entry that names them must not make the job read them.
    settings = user_file(source, {**files, "motif_hits": str(raw / "motif_hits.tsv"), "genes": str(raw / "genes.tsv")},
                         cell_type_key="label" if source == "h5mu" else "cell_type", n_top_genes=40)
    return "user", settings, WorkflowPaths(download=nowhere, simulated_raw=nowhere)


@pytest.mark.parametrize("source_case", sorted(SOURCES), indirect=True)
def test_a_source_reads_exactly_the_inputs_it_names(source_case):
    name, settings, paths = source_case
    source = SOURCES[settings.source]
    inputs = RecordedInputs(source.inputs(name, settings, paths))
    rna, atac = source.read(name, settings, inputs)
    assert inputs.read == set(inputs), f"{settings.source}: named but unread {set(inputs) - inputs.read}"
    assert (atac is not None) == source.multiome
    assert list(rna.obs["cell_type"].cat.categories) == source.cell_types(name, settings)
    assert rna.uns["benchmark"]["n_edges"] > 0


def test_source_inputs_by_role():
    paths = WorkflowPaths(download=lambda name: f"dl/{name}", simulated_raw=lambda name: f"results/{name}/raw")
    assert SOURCES["simulate"].inputs("sim", SIM, paths) == {"raw": "results/sim/raw"}
    assert SOURCES["genelink"].inputs("g", GenelinkDataset(path="x/TFs+500"), paths) == {
        "expression": "x/TFs+500/BL--ExpressionData.csv", "targets": "x/TFs+500/Target.csv",
        "tfs": "x/TFs+500/TF.csv", "labels": "x/TFs+500/Label.csv"}
    assert SOURCES["geo"].inputs("h", HESC, paths) == {"expression": "dl/GSE75748_sc_time_course_ec.csv",
                                                      "networks": "dl/BEELINE-Networks.zip"}
    user = {"data": "u.h5mu", "network": "n.csv", "tfs": "t.csv", "motif_hits": "m.tsv"}
    assert SOURCES["h5mu"].inputs("u", user_file("h5mu", user), paths) == user
    assert SOURCES["h5ad"].inputs("u", user_file("h5ad", user), paths) == {"data": "u.h5mu", "network": "n.csv",
                                                                           "tfs": "t.csv"}
    assert SOURCES["simulate"].cell_types("sim", SIM) == ["CT1", "CT2", "CT3"]


# ---- real 10x multiome layout ------------------------------------------------------------
UNPLACED_GENE = "G050"


@pytest.fixture
def tenx_h5mu(raw, tmp_path):
    """The simulated data as muon's `read_10x_h5` lays out a Cell Ranger ARC file: var
    `gene_ids` (the Ensembl-like id), `feature_types`, `genome`, `interval` ("chrom:start-end";
    a gene's starts at its TSS here, UNPLACED_GENE's is "NA"); no gene annotation, no motif hits."""
    import mudata
    import scanpy as sc

    genes = pd.read_csv(raw / "genes.tsv", sep="\t", index_col="gene_name")
    rna = sc.read_10x_mtx(raw / "rna", var_names="gene_symbols")
    atac = sc.read_10x_mtx(raw / "atac", var_names="gene_symbols", gex_only=False)
    intervals = genes["chrom"] + ":" + genes["tss"].astype(str) + "-" + (genes["tss"] + 1000).astype(str)
    rna.var = rna.var.assign(genome="GRCh38", interval=intervals.loc[rna.var_names].to_numpy())
    rna.var.loc[UNPLACED_GENE, "interval"] = "NA"
    atac.var = atac.var.assign(genome="GRCh38", interval=atac.var_names.to_numpy())
    labels = pd.read_csv(raw / "cell_types.tsv", sep="\t", index_col=0)["cell_type"]
    rna.obs["label"] = labels.loc[rna.obs_names].to_numpy()
    mudata.MuData({"rna": rna, "atac": atac}).write_h5mu(tmp_path / "tenx.h5mu")
    return {"data": str(tmp_path / "tenx.h5mu"), "network": str(raw / "ground_truth.csv"),
            "tfs": user_tfs(raw, tmp_path)}


def test_10x_intervals_give_the_gene_positions_without_an_annotation(tenx_h5mu, raw, tmp_path, caplog):
    settings = user_file("h5mu", tenx_h5mu, cell_type_key="label", n_top_genes=40)
    preprocess_dataset("user", settings, inputs=SOURCES["h5mu"].inputs("user", settings, None),
                       output=tmp_path / "pre.h5mu")
    rna, _ = dataset.load(tmp_path / "pre.h5mu")
    genes = pd.read_csv(raw / "genes.tsv", sep="\t", index_col="gene_name").loc[rna.var_names]
    placed = rna.var_names != UNPLACED_GENE
    assert list(rna.var.loc[placed, "chrom"]) == list(genes.loc[placed, "chrom"])
    assert list(rna.var.loc[placed, "tss"]) == list(genes.loc[placed, "tss"])
    assert rna.var.loc[~placed, ["chrom", "tss"]].values.tolist() in ([], [["", -1]])
    assert f"1 of 100 genes have no chrom:start-end interval in rna.var (e.g. {UNPLACED_GENE}: 'NA')" in caplog.text


def test_paired_data_without_gene_positions_fails_at_preprocess_naming_the_key(tenx_h5mu, tmp_path):
    import mudata

    data = mudata.read_h5mu(tenx_h5mu["data"])
    del data.mod["rna"].var["interval"]
    data.write_h5mu(tmp_path / "no_positions.h5mu")
    inputs = {**tenx_h5mu, "data": str(tmp_path / "no_positions.h5mu")}
    out = tmp_path / "out" / "pre.h5mu"
    with pytest.raises(InputError) as error:
        preprocess_dataset("user", user_file("h5mu", inputs, cell_type_key="label"), inputs=inputs, output=out)
    assert str(error.value).startswith(f"{tmp_path / 'no_positions.h5mu'}: rna.var has no gene positions")
    assert str(error.value).endswith("give a gene annotation (gene_name, chrom, tss) as datasets.user.genes")
    assert not out.exists()
