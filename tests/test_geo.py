"""GEO parsers on small fixtures in the raw formats of the five series (tests/data/geo/)."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grnlink import geo
from grnlink.benchmark import restrict_network
from grnlink.download import unpack
from grnlink.errors import InputError
from grnlink.settings import GeneTableColumns, GeoDataset

DATA = Path(__file__).parent / "data" / "geo"
HESC = DATA / "GSE75748_sc_time_course_ec.csv"
HHEP = DATA / "GSE81252_data.cast.log2.lineage.csv"
MDC = DATA / "GSE48968_allgenesTPM_GSM1189042_GSM1190902.txt"
MESC = DATA / "GSE98664_tpm_sailfish_mergedGTF_RamDA_mESC_differentiation_time_course.txt"
MHSC = DATA / "normalisedCountsVariableGenes.txt"
GATES = DATA / "all_cell_types.txt"
ID_TABLE = DATA / "mouse_ensembl_ids.tsv"



def series(name: str, **keys) -> GeoDataset:
    """A geo dataset of series `name` with the series' BEELINE network and species' TF list."""
    species = geo.SPECIES[name]
    return GeoDataset(series=name, files={}, network=f"Networks/{species}/{name}-ChIP-seq-network.csv",
                      tfs=f"{species}-tfs.csv", **keys)


HESC_SETTINGS = series("hESC")
HHEP_SETTINGS = series("hHEP")
MDC_SETTINGS = series("mDC", keep_cells="^LPS_", drop_cells="PIC|Control|PAM|KO|IFNB|Chip|Unstimulated|Replicate")
MESC_SETTINGS = series("mESC", gene_table=GeneTableColumns(id_column="Transcript stable ID", symbol_column="Gene name"))
MHSC_SETTINGS = series("mHSC", lineage_cell_types=("ESLAM", "HSC1", "MEP"),
                       gene_table=GeneTableColumns(id_column="Gene stable ID", symbol_column="Gene name"))


def corrupt(source: Path, tmp_path: Path, line: int, replace: tuple[str, str]) -> Path:
    """Copy `source` with one substitution on 1-based `line`."""
    lines = source.read_text().splitlines(keepends=True)
    assert replace[0] in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(*replace, 1)
    out = tmp_path / source.name
    out.write_text("".join(lines))
    return out


def test_median_ratio_size_factors_of_proportional_cells():
    base = np.array([5.0, 1.0, 8.0, 3.0])
    counts = np.vstack([base, 2 * base, 4 * base])
    counts[0, 1] = 0  # a dropout is skipped in that cell's median
    factors = geo.median_ratio_size_factors(counts)
    np.testing.assert_allclose(factors, [0.5, 1.0, 2.0])


def test_hesc_counts_are_median_ratio_normalised():
    rna = geo.parse_hesc(HESC_SETTINGS, {"expression": HESC})
    assert list(rna.obs_names) == ["H9.00hb4s_001", "H9.00hb4s_002", "H9.12h_001", "H9.24h_001", "H9.96h_001"]
    assert list(rna.obs["time"]) == ["00h", "00h", "12h", "24h", "96h"]
    assert "T" not in rna.var_names  # zero in every cell
    # Cells are 1, 2, 4, 1, 0.5 times one profile: the size factors remove that exactly.
    scale = 4 ** (1 / 5)
    assert rna[:, "POU5F1"].X.ravel() == pytest.approx([np.log2(10 * scale + 1)] * 5, rel=1e-5)
    assert rna[:, "EOMES"].X.ravel() == pytest.approx([np.log2(2 * scale + 1)] * 5, rel=1e-5)
    assert rna[:, "SOX2"].X[0, 0] == 0
    assert rna.layers["counts"][2, rna.var_names.get_loc("NANOG")] == 16


def test_hhep_keeps_experiment_and_genes_expressed_in_ten_percent():
    rna = geo.parse_hhep(HHEP_SETTINGS, {"expression": HHEP})
    assert rna.n_obs == 10
    assert list(rna.obs["experiment"][:3]) == ["ipsc", "ipsc", "de"]
    # ALB is >= 0.1 in one cell of ten (kept); AFP never reaches 0.1 (dropped).
    assert list(rna.var_names) == ["HNF4A", "FOXA2", "ALB", "TTR"]
    assert rna["mh2_1", "HNF4A"].X[0, 0] == pytest.approx(6.8)


def test_mdc_keeps_lps_time_course_cells_only():
    rna = geo.parse_mdc(MDC_SETTINGS, {"expression": MDC})
    assert list(rna.obs_names) == ["LPS_1h_S1", "LPS_1h_S2", "LPS_2h_S1", "LPS_4h_S1", "LPS_6h_S1"]
    assert list(rna.obs["time"]) == ["1h", "1h", "2h", "4h", "6h"]
    assert "CIC" not in rna.var_names  # expressed only in dropped cells
    assert "RELA" in rna.var_names  # expressed in 1 of 5 LPS cells = 20%
    assert rna["LPS_4h_S1", "AHR"].X[0, 0] == pytest.approx(3.0)  # log2(7 + 1)


def test_mesc_sums_transcripts_per_gene():
    rna = geo.parse_mesc(MESC_SETTINGS, {"expression": MESC, "gene_table": ID_TABLE})
    assert list(rna.var_names) == ["GNAI3", "POU5F1"]  # NANOG all zero; unmapped ids dropped
    np.testing.assert_allclose(rna[:, "GNAI3"].X.ravel(), np.log2(np.array([11, 2, 3, 4, 6]) + 1), rtol=1e-6)
    assert list(rna.obs["time"]) == ["00h", "00h", "12h", "24h", "72h"]


def test_mhsc_selects_lineage_cells_and_maps_ids():
    files = {"expression": MHSC, "cell_types": GATES, "gene_table": ID_TABLE}
    rna = geo.parse_mhsc(MHSC_SETTINGS, files)
    assert list(rna.obs_names) == ["LT.HSC_001", "LT.HSC_002", "HSPC_002"]
    assert list(rna.obs["gates"]) == ["ESLAM;HSC1", "HSC1", "MEP"]
    assert list(rna.var_names) == ["GNAI3", "POU5F1", "SOX2", "ENSMUSG00000077777"]  # the last has no symbol
    assert rna["HSPC_002", "GNAI3"].X[0, 0] == pytest.approx(3.0)  # log2(7 + 1)


@pytest.mark.parametrize(
    ("parse", "settings", "files", "line", "replace", "message"),
    [
        (geo.parse_hesc, HESC_SETTINGS, {"expression": HESC}, 4, (",4,", ",four,"), "not a number: 'four'"),
        (geo.parse_hhep, HHEP_SETTINGS, {"expression": HHEP}, 5, (",6.3,", ",6.3,1.0,"), "expected 7 fields, found 8"),
        (geo.parse_mdc, MDC_SETTINGS, {"expression": MDC}, 4, ("\t1\t1\t1\t1\t1\n", "\t1\t1\t1\t1\n"), "missing value"),
        (geo.parse_mesc, MESC_SETTINGS, {"expression": MESC, "gene_table": ID_TABLE}, 4, ("\t7\t", "\tNA\t"),
         "not a number: 'NA'"),
        (geo.parse_mhsc, MHSC_SETTINGS, {"expression": MHSC, "cell_types": GATES, "gene_table": ID_TABLE}, 7,
         ("\t1\t0\n", "\t2\t0\n"), "must be 0 or 1"),
    ],
    ids=["hESC", "hHEP", "mDC", "mESC", "mHSC"],
)
def test_malformed_files_fail_naming_file_and_line(tmp_path, parse, settings, files, line, replace, message):
    role = "cell_types" if parse is geo.parse_mhsc else "expression"
    bad = corrupt(files[role], tmp_path, line, replace)
    with pytest.raises(InputError, match=message) as caught:
        parse(settings, {**files, role: bad})
    assert caught.value.path == str(bad)
    assert caught.value.line == line
    assert f"{bad}, line {line}:" in str(caught.value)


def test_cell_names_that_do_not_match_the_series_pattern_are_named(tmp_path):
    bad = corrupt(HESC, tmp_path, 1, ('"H9.12h_001"', '"H1.12h_001"'))
    with pytest.raises(InputError, match="H1.12h_001"):
        geo.parse_hesc(HESC_SETTINGS, {"expression": bad})


def test_mesc_without_any_mapped_transcript_fails(tmp_path):
    table = tmp_path / "ids.tsv"
    table.write_text("Gene stable ID\tTranscript stable ID\tGene name\nENSMUSG1\tENSMUST1\tX\n")
    with pytest.raises(InputError, match="no transcript id"):
        geo.parse_mesc(MESC_SETTINGS, {"expression": MESC, "gene_table": table})


def test_id_table_with_wrong_columns_is_named():
    with pytest.raises(InputError, match="missing column"):
        geo.read_id_table(ID_TABLE, "Transcript ID", "Gene name")


@pytest.fixture()
def networks_zip(tmp_path) -> Path:
    """A BEELINE-Networks.zip with a top-level folder, as some re-packagings have."""
    archive = tmp_path / "BEELINE-Networks.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (DATA / "BEELINE-Networks").rglob("*.csv"):
            zipped.write(path, Path("BEELINE-Networks") / path.relative_to(DATA / "BEELINE-Networks"))
    return archive


def gzipped(source: Path, tmp_path: Path) -> Path:
    out = tmp_path / (source.name + ".gz")
    with open(source, "rb") as src, gzip.open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def test_load_raw_from_unpacked_downloads(tmp_path, networks_zip):
    unpacked = tmp_path / "unpacked"
    networks = unpack(networks_zip, unpacked / networks_zip.name)
    expression = unpack(gzipped(MDC, tmp_path), unpacked / (MDC.name + ".gz"))
    rna, network, tfs = geo.load_raw("mDC-TFs500", MDC_SETTINGS, {"expression": str(expression), "networks": str(networks)})
    assert rna.n_obs == 5
    assert list(rna.obs["cell_type"].cat.categories) == ["mDC-TFs500"]
    assert rna.X.dtype == np.float32
    assert list(network.columns) == ["Gene1", "Gene2"]
    assert ("NFKB1", "IRF7") in set(map(tuple, network.to_numpy()))
    assert tfs == ["AHR", "IRF7", "NFKB1", "RELA", "POU5F1", "NANOG"]  # regulators all listed already


def test_load_raw_drops_duplicate_network_edges(tmp_path, networks_zip):
    networks = unpack(networks_zip, tmp_path / "unpacked" / networks_zip.name)
    rna, network, tfs = geo.load_raw("hESC-TFs500", HESC_SETTINGS, {"expression": str(HESC), "networks": str(networks)})
    assert len(network) == 4  # POU5F1 -> NANOG is listed twice
    assert "HNF4A" in tfs


def test_load_raw_names_a_missing_file_role(networks_zip):
    with pytest.raises(InputError, match="gene_table"):
        geo.load_raw("mESC-TFs500", MESC_SETTINGS, {"expression": str(MESC), "networks": str(networks_zip)})


def test_network_with_empty_gene_is_named(tmp_path):
    bad = tmp_path / "net.csv"
    bad.write_text("Gene1,Gene2\nA,B\nC,\n")
    with pytest.raises(InputError, match="line 3"):
        geo.read_network(bad)


def test_geo_network_files_give_published_mdc_benchmark(repo_root):
    """BEELINE mDC-ChIP-seq network + mouse TF list, restricted to the GENELink mDC TFs+500
    gene set, give the published network (756 edges from 20 TFs, BL--network.csv) and the
    published TFs (TF.csv)."""
    networks = repo_root / "resources" / "beeline_networks"
    benchmark = repo_root / "resources" / "beeline" / "mDC" / "TFs+500"
    network = geo.read_network(networks / "mDC-ChIP-seq-network.csv")
    tfs = geo.tfs_with_regulators(geo.read_tfs(networks / "mouse-tfs.csv"), network)
    genes = pd.read_csv(benchmark / "Target.csv", index_col=0)["Gene"].tolist()
    restricted = restrict_network(network, genes, tfs)
    assert len(restricted) == 756
    assert restricted["Gene1"].nunique() == 20
    published = pd.read_csv(benchmark / "BL--network.csv")
    assert set(zip(restricted["Gene1"], restricted["Gene2"])) == set(zip(published["Gene1"], published["Gene2"]))
    published_tfs = pd.read_csv(benchmark / "TF.csv", index_col=0)["TF"]
    assert set(genes) & set(tfs) == set(published_tfs)


def test_load_raw_counts_network_regulators_as_tfs(networks_zip, tmp_path):
    networks = unpack(networks_zip, tmp_path / "unpacked" / networks_zip.name)
    files = {"expression": str(MHSC), "cell_types": str(GATES), "gene_table": str(ID_TABLE), "networks": str(networks)}
    _, _, tfs = geo.load_raw("mHSC-E-TFs500", MHSC_SETTINGS, files)
    assert tfs[-1] == "GNAI3"  # a regulator of the network missing from mouse-tfs.csv
    assert len(tfs) == len(set(tfs)) == 7


def test_duplicate_column_names_are_named(tmp_path):
    bad = corrupt(HHEP, tmp_path, 1, ('"ALB"', '"FOXA2"'))
    with pytest.raises(InputError, match=r"line 1: duplicate column name\(s\) \['FOXA2'\]"):
        geo.parse_hhep(HHEP_SETTINGS, {"expression": bad})


def test_unpacked_file_ignores_hidden_markers(tmp_path):
    folder = tmp_path / "x.csv.gz"
    folder.mkdir()
    (folder / ".snakemake_timestamp").touch()
    (folder / "x.csv").write_text("a\n")
    assert geo.unpacked_file(folder) == folder / "x.csv"


def test_geo_dataset_schema(repo_root):
    from snakemake.utils import validate
    from snakemake_interface_common.exceptions import WorkflowError

    schema = str(repo_root / "workflow" / "schemas" / "geo.schema.yaml")
    entry = {"source": "geo", "series": "mESC", "files": {"expression": "e.txt.gz", "networks": "n.zip"},
             "network": "Networks/mouse/mESC-ChIP-seq-network.csv", "tfs": "mouse-tfs.csv"}
    validate(entry, schema)
    assert entry["n_top_genes"] == 500 and entry["keep_cells"] == "" and entry["lineage_cell_types"] == []
    assert entry["gene_table"] == {"id_column": "Transcript stable ID", "symbol_column": "Gene name"}
    for key, value in (("series", "mHSC-E"), ("n_top_genes", 0), ("lineage", ["E"]), ("files", {"expression": "e"})):
        with pytest.raises(WorkflowError):
            validate({**entry, key: value}, schema)
