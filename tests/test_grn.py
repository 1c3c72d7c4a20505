"""The grn stage's library: GRNBoost2, ATAC triplets, regulons, cell-specific GRNs, evaluation.

The end-to-end part uses a small dataset drawn by the project's simulator and preprocessed
by the preprocess stage's library (the same object the workflow hands to the grn stage).
"""

from __future__ import annotations

import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import pearsonr

from grnlink import dataset
from grnlink.errors import InputError
from grnlink.grn import atac as atac_lib
from grnlink.grn.cell_specific import binarise, cell_specific_grns, csn_statistics, regulon_activity
from grnlink.grn.celltype import EDGE_COLUMNS, baseline_scores, celltype_grn
from grnlink.grn.evaluate import evaluate_cell_types, evaluate_splits, metrics
from grnlink.grn.grnboost import infer_links
from grnlink.grn.regulons import regulons_from_edges
from grnlink.settings import GRN_BACKENDS, GrnSettings

from conftest import ROOT

FAST = GrnSettings(max_trees=150, seed=1).celltype()


# ---- GRNBoost2 ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    """G0 depends on TF1 only, G1 on TF2 only; TF0 is noise."""
    rng = np.random.default_rng(0)
    tfs = rng.gamma(2.0, 1.0, size=(300, 3))
    g0 = 2 * tfs[:, 1] + rng.normal(0, 0.2, 300)
    g1 = np.log1p(tfs[:, 2]) * 3 + rng.normal(0, 0.2, 300)
    return np.column_stack([tfs, g0, g1]), ["TF0", "TF1", "TF2", "G0", "G1"], ["TF0", "TF1", "TF2"]


@pytest.mark.parametrize("backend", GRN_BACKENDS)
def test_grnboost2_finds_the_planted_regulators(planted, backend):
    expression, genes, tfs = planted
    settings = GrnSettings(max_trees=300, seed=0, backend=backend).boosting()
    links = infer_links(expression, genes, tfs, ["G0", "G1"], settings)
    top = links.groupby("target")["TF"].first()
    assert top["G0"] == "TF1" and top["G1"] == "TF2"
    assert set(links.columns) == {"TF", "target", "importance"} and (links["importance"] > 0).all()
    assert set(links["target"]) == {"G0", "G1"} and not (links["TF"] == links["target"]).any()


def test_rustscenic_network_depends_on_the_seed_not_on_the_threads(planted, tmp_path):
    """rayon fixes its thread count once per process: each count runs in its own process."""
    expression, genes, tfs = planted
    np.save(tmp_path / "x.npy", expression)
    code = ("import sys, numpy as np; from grnlink.grn.grnboost import infer_links; "
            "from grnlink.settings import GrnSettings; "
            f"links = infer_links(np.load(r'{tmp_path / 'x.npy'}'), {genes!r}, {tfs!r}, {genes!r}, "
            "GrnSettings(max_trees=100, seed=int(sys.argv[2])).boosting(), n_jobs=int(sys.argv[1])); "
            "links.to_csv(sys.argv[3], index=False)")
    for threads, seed in [(1, 3), (2, 3), (2, 4)]:
        subprocess.run([sys.executable, "-c", code, str(threads), str(seed), str(tmp_path / f"{threads}_{seed}.csv")],
                       check=True, cwd=ROOT)
    one, two, other_seed = (pd.read_csv(tmp_path / f"{n}.csv") for n in ("1_3", "2_3", "2_4"))
    pd.testing.assert_frame_equal(one, two)
    assert len(one) > 0 and not one["importance"].equals(other_seed["importance"])


def test_a_dask_scheduler_needs_the_arboreto_backend():
    with pytest.raises(ValueError, match="grn.scheduler_address runs arboreto's regressions on dask"):
        GrnSettings(scheduler_address="tcp://127.0.0.1:8786")
    assert GrnSettings(scheduler_address="tcp://127.0.0.1:8786", backend="arboreto").boosting().backend == "arboreto"


def test_grnboost2_is_the_same_on_one_and_two_processes(planted):
    expression, genes, tfs = planted
    settings = GrnSettings(max_trees=100, seed=3, backend="arboreto").boosting()
    serial = infer_links(expression, genes, tfs, genes, settings, n_jobs=1)
    parallel = infer_links(expression, genes, tfs, genes, settings, n_jobs=2, min_targets_per_process=1)
    pd.testing.assert_frame_equal(serial, parallel)
    assert not (serial["TF"] == serial["target"]).any()


# ---- ATAC: peaks, motif tables, links ------------------------------------------------------
def test_peaks_near_genes_respects_the_window():
    peaks = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2"], "start": [900, 1_950, 3_001, 1_000],
                          "end": [1_000, 2_050, 3_100, 1_100]})
    pairs = atac_lib.peaks_near_genes(peaks, ["chr1", "chr2", "chr3"], [2_000, 1_050, 10], window=1_000)
    got = set(map(tuple, pairs.to_numpy()))
    # peak 0 ends at 1000 = 2000 - 1000 (touches the window); peak 2 starts past 3000
    assert got == {(0, 0), (1, 0), (3, 1)}


def test_pair_correlations_match_numpy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(30, 3))
    xi, yi = np.array([0, 3, 2]), np.array([1, 1, 0])
    expected = [np.corrcoef(x[:, a], y[:, b])[0, 1] for a, b in zip(xi, yi)]
    np.testing.assert_allclose(atac_lib.pair_correlations(x, y, xi, yi), expected)


def test_malformed_motif_table_names_file_and_line(tmp_path):
    path = tmp_path / "motifs.tsv"
    path.write_text("TF\tpeak\nTF1\tchr1:100-200\nTF2\tchr1:300-400\textra\n")
    with pytest.raises(InputError, match=r"motifs\.tsv, line 3: expected 2"):
        atac_lib.read_motif_hits(path)
    path.write_text("TF\tpeak\nTF1\tchr1:100-200\nTF2\tchr1_300_400\n")
    with pytest.raises(InputError, match=r"motifs\.tsv, line 3: peak name 'chr1_300_400'"):
        atac_lib.read_motif_hits(path)
    path.write_text("factor\tpeak\nTF1\tchr1:100-200\n")
    with pytest.raises(InputError, match=r"motifs\.tsv, line 1: header"):
        atac_lib.read_motif_hits(path)
    path.write_text("TF\tpeak\nTF1\tchr1:100-200\nTF1\tchr1:100-200\n")
    assert len(atac_lib.read_motif_hits(path)) == 1


def test_motif_table_in_the_object_names_the_row():
    hits = pd.DataFrame({"TF": ["A", "B", "C"], "peak": ["chr1:1-5", "chr1:9-20", "chr2:30-10"]})
    with pytest.raises(InputError, match=r"data\.h5mu: row 3: peak name 'chr2:30-10'"):
        atac_lib.check_motif_hits(hits, "data.h5mu")


def test_bad_peak_name_in_the_atac_data_fails_naming_file_and_row(tiny):
    rna, atac = tiny
    atac = atac.copy()
    names = list(atac.var_names)
    names[4] = "chr1-1000-2000"
    atac.var_names = names
    with pytest.raises(InputError) as error:
        celltype_grn(rna, atac, "CT1", FAST, "tiny.h5mu")
    # a position in the object's peak list, not a line of a file
    assert str(error.value) == "tiny.h5mu: peak #5 'chr1-1000-2000' is not named chrom:start-end"


def triplet_table(rows: list[tuple[str, str, str, float]], n_metacells: int = 30) -> pd.DataFrame:
    """Triplets (TF, peak, target, link r) with the p-values of `n_metacells` metacells."""
    table = pd.DataFrame(rows, columns=["TF", "peak", "target", "link_correlation"])
    return table.assign(link_pvalue=atac_lib.link_pvalues(table["link_correlation"], n_metacells), accessibility=0.5)


def test_link_pvalues_are_the_one_sided_t_test_of_pearson_r():
    rng = np.random.default_rng(7)
    x = rng.normal(size=25)
    y = 0.4 * x + rng.normal(size=25)
    r = np.corrcoef(x, y)[0, 1]
    expected = pearsonr(x, y, alternative="greater").pvalue
    assert atac_lib.link_pvalues(np.array([r]), 25)[0] == pytest.approx(expected)
    np.testing.assert_allclose(atac_lib.link_pvalues(np.array([1.0, -1.0, 0.0]), 25), [0.0, 1.0, 0.5])
    assert (atac_lib.link_pvalues(np.array([0.99]), 2) == 1.0).all()  # no degree of freedom: never significant


def test_edge_support_only_from_positive_significant_links():
    # over 30 metacells, r > 0.31 is significant at p < 0.05
    table = triplet_table([
        ("A", "p1", "G", 0.2), ("A", "p2", "G", 0.6), ("A", "p3", "G", 0.45),  # two significant links
        ("B", "p4", "G", -0.9),  # a strong negative link
        ("C", "p5", "G", 0.25), ("C", "p6", "G", -0.5),  # positive but not significant
    ])
    support = atac_lib.edge_support(table, max_pvalue=0.05).set_index("TF")
    assert list(support.columns) == ["target", "atac_support", "peaks", "link_correlation"]
    assert support.loc["A", "atac_support"] == pytest.approx(0.6)
    assert support.loc["A", "peaks"] == "p2;p3"
    assert support.loc["A", "link_correlation"] == pytest.approx(0.6)
    assert support.loc["B", "atac_support"] == 0.0 and support.loc["B", "peaks"] == ""
    assert support.loc["B", "link_correlation"] == pytest.approx(-0.9)
    assert support.loc["C", "atac_support"] == 0.0 and support.loc["C", "peaks"] == ""
    assert support.loc["C", "link_correlation"] == pytest.approx(0.25)
    # a looser level lets C's link through
    assert atac_lib.edge_support(table, max_pvalue=0.2).set_index("TF").loc["C", "atac_support"] == pytest.approx(0.25)


def test_unsupported_triplet_edges_stay_in_the_edge_table():
    from grnlink.grn.celltype import edge_table

    links = pd.DataFrame({"TF": ["A", "A"], "target": ["G", "H"], "importance": [2.0, 1.0]})
    support = atac_lib.edge_support(triplet_table([("A", "p1", "G", -0.5), ("B", "p2", "H", 0.9)]), 0.05)
    expression = np.random.default_rng(0).normal(size=(20, 4))
    table = edge_table(links, support, expression, ["A", "B", "G", "H"], atac_weight=0.5).set_index(["TF", "target"])
    assert list(table.reset_index().columns) == EDGE_COLUMNS
    assert table.loc[("A", "G"), "link_correlation"] == pytest.approx(-0.5)
    assert table.loc[("A", "G"), "atac_support"] == 0.0
    assert table.loc[("B", "H"), "importance"] == 0.0  # found by ATAC only
    assert table.loc[("B", "H"), "atac_support"] == pytest.approx(0.9)
    assert np.isnan(table.loc[("A", "H"), "link_correlation"])  # no triplet
    assert table.loc[("B", "H"), "score"] == pytest.approx(0.5 * 0.9)


def test_edge_table_reads_back_with_empty_peaks_and_missing_link_correlation(tmp_path):
    from grnlink.grn.celltype import read_edge_table
    from grnlink.io import write_table

    table = pd.DataFrame({"TF": ["A", "A"], "target": ["G", "H"], "importance": [1.0, 0.5], "atac_support": [0.4, 0.0],
                          "peaks": ["chr1:1-5", ""], "link_correlation": [0.4, np.nan], "correlation": [0.1, 0.2],
                          "score": [0.7, 0.25]})
    write_table(table, tmp_path / "CT1.tsv")
    back = read_edge_table(tmp_path / "CT1.tsv")
    assert back["peaks"].tolist() == ["chr1:1-5", ""]
    assert back["link_correlation"].dtype == float and np.isnan(back.loc[1, "link_correlation"])


# ---- cell-type GRNs on simulated multiome data ---------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    """A small simulated multiome dataset in the preprocessed object's layout (the contract).

    Built straight from the project's simulator, with every gene a benchmark gene, so the
    test does not hinge on the preprocess stage's gene selection.
    """
    from grnlink.settings import SimulatedDataset
    from grnlink.simulate import simulate

    params = SimulatedDataset(n_cells=300, n_cell_types=2, n_tfs=10, n_genes=80, n_peaks=400, seed=3).simulation()
    data = simulate(params)
    counts = sp.csr_matrix(data.rna_counts, dtype=np.float32)
    scaled = sp.diags(1e4 / np.asarray(counts.sum(axis=1)).ravel().clip(1)) @ counts
    genes = data.genes.set_index("gene_name")
    rna = ad.AnnData(
        X=sp.csr_matrix(scaled.log1p(), dtype=np.float32),
        obs=pd.DataFrame({"cell_type": pd.Categorical(data.cell_types)}, index=data.barcodes),
        var=pd.DataFrame({"is_tf": genes["is_tf"].to_numpy(bool), "selected": True, "chrom": genes["chrom"],
                          "tss": genes["tss"].astype(np.int64)}, index=genes.index),
        layers={"counts": counts},
    )
    rna.uns["network"] = data.network[["Gene1", "Gene2", "cell_type"]]
    peaks = data.peaks.set_index("peak")
    atac = ad.AnnData(
        X=sp.csr_matrix(data.atac_counts, dtype=np.float32), obs=pd.DataFrame(index=data.barcodes),
        var=peaks[["chrom", "start", "end"]], layers={"counts": sp.csr_matrix(data.atac_counts)},
    )
    atac.uns["motif_hits"] = data.motif_hits
    return rna, atac


@pytest.fixture(scope="module")
def tiny_tables(tiny):
    rna, atac = tiny
    return {ct: celltype_grn(rna, atac, ct, FAST, "tiny.h5mu") for ct in ("CT1", "CT2")}


def test_celltype_table_follows_the_contract(tiny, tiny_tables):
    rna, _ = tiny
    genes, tfs = set(dataset.benchmark_genes(rna)), set(dataset.benchmark_tfs(rna))
    for table in tiny_tables.values():
        assert list(table.columns[:5]) == ["TF", "target", "importance", "atac_support", "peaks"]
        assert set(table["TF"]) <= tfs and set(table["target"]) <= genes
        assert not (table["TF"] == table["target"]).any()
        assert not table.duplicated(["TF", "target"]).any()
        supported = table["atac_support"] > 0
        assert supported.any() and (table.loc[supported, "peaks"] != "").all()
        assert (table.loc[~supported, "peaks"] == "").all()
        # a supported edge's support is its best link; edges without a triplet have none
        np.testing.assert_allclose(table.loc[supported, "atac_support"], table.loc[supported, "link_correlation"])
        assert not supported[table["link_correlation"].isna()].any()
        assert (table["link_correlation"].notna() & ~supported).any()  # unsupported triplet edges are kept


def test_atac_supported_grn_beats_rna_only_grnboost2(tiny, tiny_tables):
    rna, atac = tiny
    result = evaluate_cell_types(tiny_tables, pd.DataFrame(rna.uns["network"]), dataset.benchmark_tfs(rna),
                                 dataset.benchmark_genes(rna), paired=True)
    wide = result.pivot(index="cell_type", columns="network", values="auroc")
    assert len(wide) == 2
    # The ATAC term is the best significant positive link r (about 0.1 to 0.4 here), so it
    # moves the score less than the former (r + 1) / 2 of every triplet did: +0.02 to 0.03 AUROC.
    assert (wide["atac_supported"] > wide["grnboost2"] + 0.01).all(), wide


def test_rna_only_data_has_no_atac_part(tiny):
    rna, _ = tiny
    table = celltype_grn(rna, None, "CT2", FAST, "tiny.h5ad")
    assert (table["atac_support"] == 0).all() and (table["peaks"] == "").all()
    assert table["score"].between(0, 1).all()


def test_baseline_scores_cover_every_tf_gene_pair(tiny, tiny_tables):
    rna, _ = tiny
    scores = baseline_scores(rna, tiny_tables)
    tfs, genes = dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna)
    assert len(scores) == len(tfs) * len(genes) - len(tfs)
    row = scores.iloc[7]
    x = rna[:, row["TF"]].X.toarray().ravel() if sp.issparse(rna.X) else np.asarray(rna[:, row["TF"]].X).ravel()
    y = rna[:, row["Target"]].X.toarray().ravel() if sp.issparse(rna.X) else np.asarray(rna[:, row["Target"]].X).ravel()
    assert row["pearson"] == pytest.approx(abs(np.corrcoef(x, y)[0, 1]), abs=1e-6)
    for column, edge_column in (("grnboost2", "importance"), ("celltype_grn", "score")):
        best = max(t.set_index(["TF", "target"])[edge_column].get((row["TF"], row["Target"]), 0.0)
                   for t in tiny_tables.values())
        assert row[column] == pytest.approx(best)
    assert scores["celltype_grn"].gt(0).any()


# ---- regulons and cell-specific GRNs ---------------------------------------------------------
def test_regulons_keep_positive_top_edges_and_drop_small_ones():
    edges = pd.DataFrame({
        "TF": ["A", "A", "A", "B", "B", "C"],
        "target": ["G1", "G2", "G3", "G1", "G2", "G3"],
        "score": [0.9, 0.8, 0.7, 0.95, 0.5, 0.99],
        "correlation": [0.5, 0.4, 0.3, 0.6, -0.2, 0.01],
    })
    regulons = regulons_from_edges(edges, top_tfs=1, min_correlation=0.03, min_size=2)
    # G1's top positive TF is B (so B has only G1: too small); A keeps G2 and G3
    assert set(map(tuple, regulons[["regulon", "target"]].to_numpy())) == {("A(+)", "G2"), ("A(+)", "G3")}


def naive_csn(values: np.ndarray, x: int, y: int, box_fraction: float) -> np.ndarray:
    """The statistic of Dai et al. written out cell by cell."""
    n = values.shape[0]
    h = max(1, int(round(box_fraction * n / 2)))
    out = np.zeros(n)
    for k in range(n):
        boxes = []
        for g in (x, y):
            s = np.sort(values[:, g])
            r = int(np.flatnonzero(np.argsort(values[:, g], kind="stable") == k)[0])
            lo, hi = s[max(0, r - h)], s[min(n - 1, r + h)]
            boxes.append((values[:, g] >= lo) & (values[:, g] <= hi))
        nx, ny, nxy = boxes[0].sum(), boxes[1].sum(), (boxes[0] & boxes[1]).sum()
        var = nx * ny * (n - nx) * (n - ny) / (n - 1)
        out[k] = (n * nxy - nx * ny) / np.sqrt(var) if var > 0 else 0.0
    return out


def test_csn_matches_the_formula_and_does_not_depend_on_chunking():
    rng = np.random.default_rng(4)
    base = rng.normal(size=60)
    values = np.column_stack([base, base + rng.normal(0, 0.3, 60), rng.normal(size=60), np.round(rng.gamma(1, 1, 60))])
    tf_idx, target_idx = np.array([0, 0, 3]), np.array([1, 2, 1])
    whole = csn_statistics(values, tf_idx, target_idx, 0.1, -np.inf, chunk_bytes=10**9).toarray()
    chunked = csn_statistics(values, tf_idx, target_idx, 0.1, -np.inf, chunk_bytes=64).toarray()
    np.testing.assert_allclose(whole, chunked)
    for j, (a, b) in enumerate(zip(tf_idx, target_idx)):
        expected = naive_csn(values, a, b, 0.1)
        nonzero = expected != 0
        np.testing.assert_allclose(whole[nonzero, j], expected[nonzero], rtol=1e-5)
    thresholded = csn_statistics(values, tf_idx, target_idx, 0.1, 2.326, chunk_bytes=10**9)
    assert (thresholded.data > 2.326).all()
    assert thresholded[:, 0].nnz > thresholded[:, 1].nnz  # the correlated pair is linked in more cells


def test_aucell_binarisation_finds_the_cells_with_a_high_regulon():
    rng = np.random.default_rng(5)
    expression = rng.gamma(1.0, 1.0, size=(200, 60))
    on = np.arange(200) < 80
    expression[np.ix_(on, np.arange(6))] += 6.0
    frame = pd.DataFrame(expression, columns=[f"g{i}" for i in range(60)], index=[f"c{i}" for i in range(200)])
    regulons = pd.DataFrame({"regulon": "T(+)", "TF": "T", "target": [f"g{i}" for i in range(6)], "score": 1.0})
    auc = regulon_activity(frame, regulons, auc_threshold=0.2, seed=0)
    active, thresholds = binarise(auc, seed=0)
    assert active["T(+)"][on].mean() > 0.9 and active["T(+)"][~on].mean() < 0.1


def test_cell_specific_grns_are_sparse_cells_by_edges(tiny, tiny_tables):
    rna, _ = tiny
    settings = GrnSettings(regulon_min_size=3, aucell_auc_threshold=0.25, chunk_mb=1).cell_specific()
    result = cell_specific_grns(rna, tiny_tables, settings, "tiny.h5mu")
    assert result.n_obs == rna.n_obs and list(result.var.columns) == ["TF", "target"]
    assert sp.issparse(result.layers["aucell"]) and sp.issparse(result.layers["csn"])
    assert result.layers["aucell"].nnz > 0 and result.layers["csn"].nnz > 0
    assert (result.layers["csn"].data > settings.csn_threshold).all()
    members = pd.DataFrame(result.uns["regulons"])
    for ct in ("CT1", "CT2"):
        cells = (result.obs["cell_type"] == ct).to_numpy()
        own = set(map(tuple, members.loc[members["cell_type"] == ct, ["TF", "target"]].to_numpy()))
        used = np.flatnonzero(np.asarray(result.layers["aucell"][cells].sum(axis=0)).ravel())
        edges = set(map(tuple, result.var.iloc[used][["TF", "target"]].astype(str).to_numpy()))
        assert edges <= own  # a cell's GRN only holds edges of its own cell type's regulons


# ---- evaluation ------------------------------------------------------------------------------
def test_metrics_of_perfect_and_reversed_scores():
    labels = np.array([0, 1, 0, 1, 1])
    assert metrics(labels, labels * 2.0) == (1.0, 1.0)
    assert metrics(labels, 1.0 - labels)[0] == 0.0
    assert np.isnan(metrics(np.ones(3), np.arange(3))[0])


def test_evaluate_splits_uses_only_test_pairs():
    split = pd.DataFrame({"TF": ["A", "A", "B", "B"], "Target": ["G1", "G2", "G1", "G2"],
                          "label": [1, 0, 1, 0], "part": ["test", "test", "train", "test"]})
    network = pd.DataFrame({"TF": ["A", "B"], "target": ["G1", "G2"], "score": [0.9, 0.1]})
    result = evaluate_splits({"net": network}, {0: split})
    row = result.iloc[0]
    assert (row["n_pairs"], row["n_positive"], row["auroc"]) == (3, 1, 1.0)


def test_motif_scan_finds_a_planted_motif(tmp_path):
    pytest.importorskip("MOODS")
    import importlib.resources

    from grnlink.grn.motifs import scan_motif_hits

    pfm = importlib.resources.files("muon") / "_atac" / "_ref" / "jaspar" / "MA0002.2.pfm"  # RUNX1
    consensus = "".join("ACGT"[i] for i in np.loadtxt(str(pfm)).argmax(axis=0))
    chrom = list("C" * 300)
    chrom[120:120 + len(consensus)] = consensus
    fasta = tmp_path / "genome.fa"
    fasta.write_text(">chrZ test genome\n" + "".join(chrom[:150]) + "\n" + "".join(chrom[150:]) + "\n")
    hits = scan_motif_hits(fasta, ["chrZ:100-160", "chrZ:200-260"], ["RUNX1", "GATA1"], 1e-4, "peaks.h5mu")
    assert ("RUNX1", "chrZ:100-160") in set(map(tuple, hits.to_numpy()))
    assert "chrZ:200-260" not in set(hits["peak"])
    with pytest.raises(InputError, match="genome.fa.*chrY"):
        scan_motif_hits(fasta, ["chrY:1-50"], ["RUNX1"], 1e-4, "peaks.h5mu")


def test_settings_reject_an_unknown_scope():
    with pytest.raises(ValueError, match="link_correlation_scope"):
        GrnSettings(link_correlation_scope="everything").celltype()
    assert GrnSettings.from_config({"max_trees": 7, "motif_hits": {}}).celltype().boosting.max_trees == 7


def test_anndata_output_round_trips(tmp_path, tiny, tiny_tables):
    rna, _ = tiny
    result = cell_specific_grns(rna, tiny_tables, GrnSettings(regulon_min_size=3).cell_specific(), "tiny.h5mu")
    path = tmp_path / "cs.h5ad"
    result.write_h5ad(path)
    back = ad.read_h5ad(path)
    assert back.layers["csn"].nnz == result.layers["csn"].nnz


def test_binarise_leaves_a_constant_regulon_off():
    auc = pd.DataFrame({"A(+)": np.zeros(50), "B(+)": np.r_[np.zeros(25), np.full(25, 0.5)]})
    active, thresholds = binarise(auc, seed=0)
    assert not active["A(+)"].any()
    assert active["B(+)"].iloc[25:].all() and not active["B(+)"].iloc[:25].any()


def test_paired_data_without_a_motif_table_says_what_to_give(tiny):
    rna, atac = tiny
    atac = atac.copy()
    del atac.uns["motif_hits"]
    with pytest.raises(InputError, match=r"tiny\.h5mu: atac\.uns has no 'motif_hits'.*grn\.genome_fasta"):
        celltype_grn(rna, atac, "CT1", FAST, "tiny.h5mu")


# ---- ATAC that contributes nothing says why ---------------------------------------------
def no_hits(_atac, _tfs):
    return pd.DataFrame({"TF": [], "peak": []}, dtype=str)


def hits_of_non_tfs(atac, _tfs):
    return pd.DataFrame({"TF": ["NOT_A_TF"], "peak": [atac.var_names[0]]})


def hits_in_no_peak_of_the_data(_atac, tfs):
    return pd.DataFrame({"TF": [tfs[0]], "peak": ["chr9:1-2"]})


@pytest.mark.parametrize(
    "hits, changes, genes_moved, reason",
    [
        (no_hits, {}, False, "TF -> peak: the motif hit table is empty"),
        (hits_of_non_tfs, {}, False, "TF -> peak: no motif hit of a benchmark TF"),
        (None, {}, True, f"peak -> gene: no peak within grn.peak_window ({FAST.peak_window} bp) of a benchmark "
                         "gene's TSS"),
        (None, {"min_accessibility": 1.0001}, False, "peak -> gene: no peak near a benchmark gene is open in "
                                                     "grn.min_accessibility (1.0001) of the cell type's cells"),
        (hits_in_no_peak_of_the_data, {}, False, "TF -> peak -> gene: no open peak near a gene holds the motif"),
    ],
)
def test_atac_without_triplets_warns_naming_the_empty_step(tiny, caplog, hits, changes, genes_moved, reason):
    import dataclasses

    from grnlink.grn.celltype import atac_support

    rna, atac = tiny
    if genes_moved:
        rna = rna.copy()
        rna.var["chrom"] = "chrUn"
    motif_hits = hits(atac, dataset.benchmark_tfs(rna)) if hits else atac.uns["motif_hits"]
    mask = (rna.obs["cell_type"] == "CT1").to_numpy()
    support = atac_support(rna, atac, mask, motif_hits, dataclasses.replace(FAST, **changes), "tiny.h5mu",
                           cell_type="CT1")
    assert support.empty
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith(f"CT1: ATAC contributes no TF -> peak -> gene triplet ({reason}")


def test_atac_without_a_significant_link_warns(tiny, caplog):
    import dataclasses

    from grnlink.grn.celltype import atac_support

    rna, atac = tiny
    mask = (rna.obs["cell_type"] == "CT1").to_numpy()
    strict = dataclasses.replace(FAST, link_pvalue=1e-300)
    support = atac_support(rna, atac, mask, atac.uns["motif_hits"], strict, "tiny.h5mu", cell_type="CT1")
    assert len(support) and (support["atac_support"] == 0).all() and (support["peaks"] == "").all()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("CT1: ATAC supports no edge: none of the")
    assert "grn.link_pvalue (1e-300)" in warnings[0]


def test_evaluation_flags_cell_types_where_atac_contributed_nothing(tiny_tables):
    from grnlink.grn.stage import atac_edge_counts

    tables = {"CT1": tiny_tables["CT1"], "CT2": tiny_tables["CT2"].assign(peaks="")}
    evaluation = pd.DataFrame({"network": ["grnboost2", "atac_supported", "atac_supported", "atac_supported"],
                               "cell_type": ["CT2", "CT1", "CT2", "all"]})
    counts = atac_edge_counts(evaluation, tables)
    n_ct1 = int((tiny_tables["CT1"]["peaks"] != "").sum())
    assert n_ct1 > 0
    assert counts.isna().tolist() == [True, False, False, False]
    assert counts.iloc[1:].tolist() == [n_ct1, 0, n_ct1]
