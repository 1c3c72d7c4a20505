"""The grn stage's jobs, file in / file out (what the workflow scripts call): each takes
the typed settings its job reads (grnlink.settings) and keyword-only paths."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import anndata as ad
import pandas as pd

from grnlink import dataset
from grnlink.grn import atac as atac_lib
from grnlink.grn.cell_specific import cell_specific_grns
from grnlink.grn.celltype import atac_supported_edges, baseline_scores, celltype_grn, read_edge_table
from grnlink.grn.evaluate import cell_specific_shares, evaluate_cell_types, evaluate_splits, network_scores
from grnlink.grn.evidence import pair_evidence
from grnlink.errors import InputError
from grnlink.io import read_table, write_anndata, write_table
from grnlink.reproducibility import package_versions, seed_everything
from grnlink.settings import CellSpecificGrnSettings, CellTypeGrnSettings, to_params

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def run_celltype(
    settings: CellTypeGrnSettings, *, preprocessed: PathLike, cell_type: str, output: PathLike, threads: int = 1,
    scheduler_address: str | None = None, motif_hits: PathLike | None = None,
) -> None:
    """Write the edge table of `cell_type`; `motif_hits` (a TF/peak file) overrides the object's."""
    seed_everything(settings.seed)
    rna, atac = dataset.load(preprocessed)
    hits = atac_lib.read_motif_hits(motif_hits) if motif_hits and atac is not None else None
    table = celltype_grn(rna, atac, cell_type, settings, preprocessed, n_jobs=threads,
                         scheduler_address=scheduler_address, motif_hits=hits)
    log.info("%s: %d edges, %d with ATAC support", cell_type, len(table), int((table["atac_support"] > 0).sum()))
    write_table(table, output)


def read_celltype_tables(paths: Mapping[str, PathLike]) -> dict[str, pd.DataFrame]:
    return {cell_type: read_edge_table(path) for cell_type, path in paths.items()}


def run_baseline_scores(*, preprocessed: PathLike, celltype_paths: Mapping[str, PathLike], output: PathLike) -> None:
    rna = dataset.load_rna(preprocessed)
    write_table(baseline_scores(rna, read_celltype_tables(celltype_paths)), output)


def run_pair_evidence(
    *, preprocessed: PathLike, celltype_paths: Mapping[str, PathLike], cell_specific: PathLike, output: PathLike,
) -> None:
    """Write the pair-evidence table (grnlink.grn.evidence); log, per column, the share of
    pairs with a nonzero value."""
    rna, atac = dataset.load(preprocessed)
    table = pair_evidence(rna, read_celltype_tables(celltype_paths), ad.read_h5ad(cell_specific),
                          paired=atac is not None)
    log.info("pair evidence: %d candidate pairs, %d evidence columns", len(table), table.shape[1] - 2)
    for column in table.columns[2:]:
        log.info("  %s: nonzero in %.1f %% of the pairs", column, 100 * float((table[column] != 0).mean()))
    write_table(table, output)


def run_cell_specific(
    settings: CellSpecificGrnSettings, *, preprocessed: PathLike, celltype_paths: Mapping[str, PathLike],
    output: PathLike,
) -> None:
    seed_everything(settings.seed)
    rna = dataset.load_rna(preprocessed)
    result = cell_specific_grns(rna, read_celltype_tables(celltype_paths), settings, str(preprocessed))
    result.uns["grnlink"] = {"seed": settings.seed, "versions": package_versions(), "settings": to_params(settings)}
    log.info("cell-specific GRNs: %d cells x %d edges; aucell %d, csn %d non-zeros",
             result.n_obs, result.n_vars, result.layers["aucell"].nnz, result.layers["csn"].nnz)
    write_anndata(result, output)


def run_evaluation(
    *, preprocessed: PathLike, celltype_paths: Mapping[str, PathLike], baseline: PathLike, cell_specific: PathLike,
    split_paths: Mapping[int, PathLike], dataset_name: str, grn_seed: int, output: PathLike,
) -> None:
    """Score the GRNs on the splits' test pairs and against the ground truth; `grn_seed`
    (the seed the GRNs were inferred with) is recorded in every row."""
    rna, atac = dataset.load(preprocessed)
    tables = read_celltype_tables(celltype_paths)
    networks = network_scores(read_table(baseline, required=dataset.BASELINE_COLUMNS), tables, atac is not None)
    splits = {
        int(seed): read_table(path, required=["TF", "Target", "label", "part"], dtype={"TF": str, "Target": str})
        for seed, path in split_paths.items()
    }
    truth = pd.DataFrame(rna.uns["network"])
    result = pd.concat([
        evaluate_splits(networks, splits),
        evaluate_cell_types(
            tables, truth, dataset.benchmark_tfs(rna), dataset.benchmark_genes(rna), atac is not None,
            cell_specific_shares(ad.read_h5ad(cell_specific)),
        ),
    ], ignore_index=True)
    result.insert(0, "dataset", dataset_name)
    result["grn_seed"] = grn_seed
    result["atac_edges"] = atac_edge_counts(result, tables)
    for _, row in result.iterrows():
        log.info("%s %s seed=%s %s: AUROC %.3f AUPRC %.3f", row["network"], row["scope"], row["seed"],
                 row["cell_type"], row["auroc"], row["auprc"])
    write_table(result, output)


def atac_edge_counts(evaluation: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """The `atac_edges` column of the evaluation: on `atac_supported` rows, the edges a
    TF -> peak -> target triplet supports (the row's cell type, or all cell types on `all`
    rows); 0 flags that ATAC contributed nothing (the grn_celltype log says why). Empty on
    other rows."""
    supported = {cell_type: atac_supported_edges(table) for cell_type, table in tables.items()}
    supported["all"] = set().union(*supported.values())
    counts = [len(supported[cell_type]) if network == "atac_supported" else pd.NA
              for network, cell_type in zip(evaluation["network"], evaluation["cell_type"])]
    return pd.Series(counts, index=evaluation.index, dtype="Int64")


def run_motif_scan(*, preprocessed: PathLike, fasta: PathLike, motif_pvalue: float, output: PathLike) -> None:
    """Motif hits of the data's TFs in its peaks, scanned in the genome FASTA."""
    from grnlink.grn.motifs import scan_motif_hits

    rna, atac = dataset.load(preprocessed)
    if atac is None:
        raise InputError(preprocessed, "a motif scan needs ATAC peaks (an .h5mu with an 'atac' modality)")
    tfs = list(rna.var_names[rna.var["is_tf"].to_numpy(bool)])
    hits = scan_motif_hits(fasta, list(atac.var_names), tfs, motif_pvalue, preprocessed)
    log.info("motif scan: %d hits of %d TFs in %d peaks", len(hits), hits["TF"].nunique(), hits["peak"].nunique())
    write_table(hits, output)
