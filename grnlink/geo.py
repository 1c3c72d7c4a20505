"""The seven BEELINE datasets from their raw GEO files: one parser per series.

`load_raw(name, dataset, files)` turns the downloaded (and unpacked) files of one dataset into
`(rna, network, tfs)`: an AnnData of cells x genes with BEELINE's per-dataset
normalisation in `X` (log2), the cell-type-specific ChIP-seq network (`Gene1`, `Gene2`) and
the species' TF list plus the network's regulators. Gene selection and network restriction
are the benchmark's (grnlink.benchmark).

Raw formats, and the normalisation of BEELINE's data-processing scripts:

| series | file | orientation, separator | values -> X |
|---|---|---|---|
| hESC | GSE75748_sc_time_course_ec.csv | genes x cells, `,` | expected counts; median-ratio size factors, log2(x+1) |
| hHEP | GSE81252_data.cast.log2.lineage.csv | cells x genes, `,`, column 2 `experiment` | log2 FPKM as given |
| mDC | GSE48968_allgenesTPM_...txt | genes x cells, tab | TPM of LPS cells, log2(x+1) |
| mESC | GSE98664_tpm_sailfish_...txt | transcripts x cells, tab | TPM summed per gene, log2(x+1) |
| mHSC | normalisedCountsVariableGenes.txt + all_cell_types.txt | genes x cells, whitespace | log2(x+1) of one lineage's cells |

Where this differs from BEELINE's R scripts:
- hESC size factors use DESeq2's `poscounts` geometric means (zeros skipped), because a
  single-cell matrix rarely has genes without zeros in every cell.
- mDC/mESC: BEELINE turned TPM into relative counts (monocle's relative2abs); TPM is kept here.
- mHSC: BEELINE took the cells of each Slingshot lineage (ESLAM toward MEP, GMP or LMPP); without
  R the lineage is the union of the sorted cell-type gates listed in `lineage_cell_types`.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from grnlink.errors import InputError
from grnlink.settings import GeoDataset

log = logging.getLogger("grnlink.geo")

SPECIES = {"hESC": "human", "hHEP": "human", "mDC": "mouse", "mESC": "mouse", "mHSC": "mouse"}
MIN_CELL_FRACTION = 0.1  # hHEP, mDC, mESC: keep genes expressed in >= 10% of cells
HHEP_EXPRESSED = 0.1  # log2 FPKM above which a gene counts as expressed in hHEP
ENSEMBL_VERSION = re.compile(r"^(ENS[A-Z]*[GT]\d+)\.\d+$")


# ---- entry point ---------------------------------------------------------------------
def load_raw(name: str, dataset: GeoDataset, files: Mapping[str, str]) -> tuple[ad.AnnData, pd.DataFrame, list[str]]:
    """RNA, ground-truth network and TF list of the geo dataset `name`.

    `files` maps each role of `dataset.files` to its local path: the downloaded file, or
    the directory a `.gz`/`.zip` was unpacked into.
    """
    series = dataset.series
    if series not in PARSERS:
        raise InputError(None, f"dataset {name}: unknown series {series!r}; known: {sorted(PARSERS)}")
    missing = [role for role in REQUIRED_FILES[series] if role not in files]
    if missing:
        raise InputError(None, f"dataset {name} (series {series}) lacks file role(s) {missing}")
    rna = PARSERS[series](dataset, {role: unpacked_file(files[role]) for role in files if role != "networks"})
    rna.obs.insert(0, "cell_type", pd.Categorical([name] * rna.n_obs))
    rna.uns["geo"] = {"series": series, "species": SPECIES[series]}
    networks = Path(files["networks"])
    network = read_network(member(networks, dataset.network))
    tfs = tfs_with_regulators(read_tfs(member(networks, dataset.tfs)), network)
    log.info("%s: %d cells x %d genes, %d network edges, %d TFs", name, rna.n_obs, rna.n_vars, len(network), len(tfs))
    return rna, network, tfs


def unpacked_file(path: str | os.PathLike[str]) -> Path:
    """The file itself, or the only file in the directory a `.gz` was unpacked into.

    Hidden files are not data (Snakemake marks directory outputs with `.snakemake_timestamp`).
    """
    path = Path(path)
    if not path.is_dir():
        return path
    inside = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if len(inside) != 1:
        raise InputError(path, f"expected exactly one unpacked file, found {len(inside)}")
    return inside[0]


def member(directory: Path, relative: str) -> Path:
    """`directory/relative`, or the one file of that name below it (zip top folders vary)."""
    direct = directory / relative
    if direct.is_file():
        return direct
    found = [p for p in directory.rglob(Path(relative).name) if p.is_file()]
    if len(found) != 1:
        raise InputError(directory, f"expected one file {relative!r} inside, found {len(found)}")
    return found[0]


# ---- shared readers ------------------------------------------------------------------
def read_matrix(path: Path, sep: str | None, n_text_columns: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a table of one row id column, `n_text_columns - 1` more text columns, then numbers.

    `sep=None` means runs of whitespace. The header may lack the row-id column (R's
    write.table). Returns `(text, values)`, both indexed by the row id; any unparsable,
    missing or surplus field raises InputError with its line.
    """
    header = _split(_first_line(path), sep)
    if not header:
        raise InputError(path, "empty header", line=1)
    n_fields = _field_count(path, sep, len(header))
    value_names = header[n_text_columns - (n_fields - len(header)):]
    names = [f"_text{i}" for i in range(n_text_columns)] + value_names
    if len(names) != n_fields:
        raise InputError(path, f"header has {len(header)} fields but the first row has {n_fields}", line=2)
    duplicated = sorted(pd.Index(value_names)[pd.Index(value_names).duplicated()].unique())
    if duplicated:
        raise InputError(path, f"duplicate column name(s) {duplicated[:5]}", line=1)
    dtypes: dict[str, type] = {n: str for n in names[:n_text_columns]} | {n: np.float32 for n in value_names}
    kwargs = {"sep": r"\s+", "engine": "c"} if sep is None else {"sep": sep}
    try:
        table = pd.read_csv(path, header=None, skiprows=1, names=names, dtype=dtypes, keep_default_na=False,
                            na_values=[""], **kwargs)
    except pd.errors.ParserError as err:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if match:
            raise InputError(path, f"expected {match[1]} fields, found {match[3]}", line=int(match[2])) from None
        raise InputError(path, f"cannot be parsed: {err}") from None
    except ValueError:
        line, field, value = _first_non_number(path, sep, n_text_columns)
        raise InputError(path, f"field {field} is not a number: {value!r}", line=line) from None
    values = table[value_names]
    missing = values.isna().any(axis=1).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(path, "missing value(s): the row has fewer fields than the header", line=row + 2)
    text = table[names[:n_text_columns]]
    index = pd.Index(text["_text0"].astype(str), name=None)
    values.index = index
    text = text.drop(columns="_text0").set_axis(index, axis=0)
    return text, values


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def _first_line(path: Path) -> str:
    with _open_text(path) as handle:
        return handle.readline().rstrip("\r\n")


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return [field.strip('"') for field in line.split()]
    return next(csv.reader([line], delimiter=sep))


def _field_count(path: Path, sep: str | None, default: int) -> int:
    with _open_text(path) as handle:
        handle.readline()
        second = handle.readline().rstrip("\r\n")
    return len(_split(second, sep)) if second else default


def _first_non_number(path: Path, sep: str | None, n_text_columns: int) -> tuple[int, int, str]:
    """Line, 1-based field and text of the first value that is not a number."""
    with _open_text(path) as handle:
        handle.readline()
        for line_number, line in enumerate(handle, start=2):
            fields = _split(line.rstrip("\r\n"), sep)
            for field_number, value in enumerate(fields[n_text_columns:], start=n_text_columns + 1):
                try:
                    float(value)
                except ValueError:
                    return line_number, field_number, value
    raise InputError(path, "contains a value that is not a number")


def read_id_table(path: Path, id_column: str, symbol_column: str) -> pd.Series:
    """Map Ensembl ids (versions dropped) to gene symbols from a tab-separated table."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in (id_column, symbol_column) if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; found {list(table.columns)}", line=1)
    table = table[(table[id_column] != "") & (table[symbol_column] != "")]
    ids = table[id_column].map(strip_version)
    return pd.Series(table[symbol_column].to_numpy(), index=ids).groupby(level=0).first()


def strip_version(identifier: str) -> str:
    """`ENSMUST00000000001.4` -> `ENSMUST00000000001`; anything else unchanged."""
    match = ENSEMBL_VERSION.match(identifier)
    return match[1] if match else identifier


def read_network(path: Path) -> pd.DataFrame:
    """A BEELINE network file: `Gene1,Gene2[,Score]`, upper-case symbols."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("Gene1", "Gene2") if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; found {list(table.columns)}", line=1)
    empty = np.flatnonzero(((table["Gene1"] == "") | (table["Gene2"] == "")).to_numpy())
    if len(empty):
        raise InputError(path, "empty gene name", line=int(empty[0]) + 2)
    network = table[["Gene1", "Gene2"]].apply(lambda column: column.str.upper())
    return network.drop_duplicates().reset_index(drop=True)


def read_tfs(path: Path) -> list[str]:
    """A BEELINE TF list (`TF,Sources`), upper-cased, in file order."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "TF" not in table.columns:
        raise InputError(path, f"missing column 'TF'; found {list(table.columns)}", line=1)
    return list(dict.fromkeys(table["TF"].str.upper()))


def tfs_with_regulators(tfs: list[str], network: pd.DataFrame) -> list[str]:
    """The TF list plus every regulator (`Gene1`) of the network, as BEELINE's benchmarks have it.

    The mDC network's sources SUMO1 and SUMO2 are missing from mouse-tfs.csv, yet the
    published mDC benchmark counts them as TFs and keeps their edges.
    """
    return list(dict.fromkeys([*tfs, *network["Gene1"]]))


# ---- normalisation helpers -----------------------------------------------------------
def median_ratio_size_factors(counts: np.ndarray) -> np.ndarray:
    """Per-cell size factors (cells x genes input), DESeq2 `poscounts` style, geometric mean 1."""
    with np.errstate(divide="ignore"):
        logs = np.where(counts > 0, np.log(counts), 0.0)
    log_geo_means = logs.sum(axis=0) / counts.shape[0]
    usable = (counts > 0).any(axis=0)
    factors = np.empty(counts.shape[0])
    for cell in range(counts.shape[0]):
        positive = usable & (counts[cell] > 0)
        if not positive.any():
            raise ValueError(f"cell {cell} has no expressed gene; cannot compute its size factor")
        factors[cell] = np.exp(np.median(logs[cell, positive] - log_geo_means[positive]))
    return factors / np.exp(np.mean(np.log(factors)))


def keep_genes_expressed_in(values: pd.DataFrame, threshold: float, min_fraction: float) -> pd.DataFrame:
    """Genes (columns) above `threshold` in at least `min_fraction` of cells (rows)."""
    fraction = (values.to_numpy() > threshold).mean(axis=0)
    return values.loc[:, fraction >= min_fraction]


def _anndata(values: pd.DataFrame, obs: pd.DataFrame, log_x: np.ndarray, counts: np.ndarray | None = None) -> ad.AnnData:
    obs = obs.copy()
    obs.index = values.index.astype(str)
    rna = ad.AnnData(np.asarray(log_x, dtype=np.float32), obs=obs,
                     var=pd.DataFrame(index=values.columns.astype(str)))
    if counts is not None:
        rna.layers["counts"] = np.asarray(counts, dtype=np.float32)
    return rna


def _linear_to_log2(values: pd.DataFrame) -> np.ndarray:
    return np.log2(values.to_numpy(dtype=np.float64) + 1)


def _sum_per_symbol(genes_by_cells: pd.DataFrame, upper: bool = False) -> pd.DataFrame:
    """One row per gene symbol (linear-scale values summed); mouse symbols upper-cased."""
    if upper:
        genes_by_cells = genes_by_cells.set_axis(genes_by_cells.index.str.upper(), axis=0)
    if genes_by_cells.index.is_unique:
        return genes_by_cells
    return genes_by_cells.groupby(level=0, sort=False).sum()


# ---- one parser per series -----------------------------------------------------------
def parse_hesc(dataset: GeoDataset, files: Mapping[str, Path]) -> ad.AnnData:
    """GSE75748 time course: genes x cells expected counts, cells like `H9.12h_001`."""
    path = files["expression"]
    _, genes_by_cells = read_matrix(path, ",")
    counts = _sum_per_symbol(genes_by_cells).T
    times = _cell_name_part(counts.index, re.compile(r"^H9\.(\d+h)"), path, "H9.<time>h...")
    counts = counts.loc[:, (counts.to_numpy() >= 1).any(axis=0)]
    empty = counts.index[counts.to_numpy().sum(axis=1) == 0]
    if len(empty):
        raise InputError(path, f"cell(s) {list(empty[:5])} have no counts; cannot normalise them", line=1)
    factors = median_ratio_size_factors(counts.to_numpy(dtype=np.float64))
    normalised = counts.to_numpy(dtype=np.float64) / factors[:, None]
    return _anndata(counts, pd.DataFrame({"time": times}), np.log2(normalised + 1), counts.to_numpy())


def parse_hhep(dataset: GeoDataset, files: Mapping[str, Path]) -> ad.AnnData:
    """GSE81252 lineage: cells x genes log2 FPKM, second column `experiment`."""
    path = files["expression"]
    text, values = read_matrix(path, ",", n_text_columns=2)
    values = keep_genes_expressed_in(values, HHEP_EXPRESSED, MIN_CELL_FRACTION)
    obs = pd.DataFrame({"experiment": text["_text1"].to_numpy()})
    return _anndata(values, obs, values.to_numpy())


def parse_mdc(dataset: GeoDataset, files: Mapping[str, Path]) -> ad.AnnData:
    """GSE48968: genes x cells TPM; the LPS time course cells only."""
    path = files["expression"]
    _, genes_by_cells = read_matrix(path, "\t")
    tpm = _sum_per_symbol(genes_by_cells, upper=True).T
    keep_pattern, drop_pattern = dataset.keep_cells, dataset.drop_cells
    keep = tpm.index.str.contains(keep_pattern, regex=True)
    if drop_pattern:
        keep &= ~tpm.index.str.contains(drop_pattern, regex=True)
    if not keep.any():
        raise InputError(path, f"no cell name matches keep_cells={keep_pattern!r} "
                               f"without matching drop_cells={drop_pattern!r}", line=1)
    tpm = keep_genes_expressed_in(tpm.loc[keep], 0, MIN_CELL_FRACTION)
    times = _cell_name_part(tpm.index, re.compile(r"^[^_]+_([^_]+)"), path, "<stimulus>_<time>_...")
    return _anndata(tpm, pd.DataFrame({"time": times}), _linear_to_log2(tpm))


def parse_mesc(dataset: GeoDataset, files: Mapping[str, Path]) -> ad.AnnData:
    """GSE98664: transcript x cells TPM summed per gene symbol; time = 3rd `_` token."""
    path = files["expression"]
    _, transcripts = read_matrix(path, "\t")
    symbols = read_id_table(files["gene_table"], dataset.gene_table.id_column, dataset.gene_table.symbol_column)
    genes = transcripts.index.map(strip_version).map(symbols)
    mapped = genes.notna()
    if not mapped.any():
        raise InputError(path, f"no transcript id is found in {files['gene_table']}")
    log.info("%s: %d of %d transcripts mapped to genes", path, mapped.sum(), len(mapped))
    tpm = _sum_per_symbol(transcripts[mapped].set_axis(genes[mapped], axis=0), upper=True).T
    times = _cell_name_part(tpm.index, re.compile(r"^[^_]+_[^_]+_([^_]+)"), path, "<a>_<b>_<time>_...")
    tpm = keep_genes_expressed_in(tpm, 0, MIN_CELL_FRACTION)
    return _anndata(tpm, pd.DataFrame({"time": times}), _linear_to_log2(tpm))


def parse_mhsc(dataset: GeoDataset, files: Mapping[str, Path]) -> ad.AnnData:
    """Nestorowa 2016: genes x cells normalised counts; the cells of one lineage's gates."""
    path = files["expression"]
    _, genes_by_cells = read_matrix(path, None)
    if "gene_table" in files:
        # Ids without a symbol in the table keep their name (they may be symbols already).
        symbols = read_id_table(files["gene_table"], dataset.gene_table.id_column, dataset.gene_table.symbol_column)
        genes = genes_by_cells.index.map(strip_version).map(symbols)
        log.info("%s: %d of %d gene ids have a symbol", path, genes.notna().sum(), len(genes))
        named = np.where(pd.isna(genes), genes_by_cells.index, genes)
        genes_by_cells = genes_by_cells.set_axis(pd.Index(named, dtype=str), axis=0)
    values = _sum_per_symbol(genes_by_cells, upper=True).T
    wanted = list(dataset.lineage_cell_types)
    if not wanted:
        raise InputError(None, "series mHSC needs `lineage_cell_types`: the cell-type gates of the lineage")
    gates = read_cell_gates(files["cell_types"])
    unknown = [gate for gate in wanted if gate not in gates.columns]
    if unknown:
        raise InputError(files["cell_types"], f"no cell type column(s) {unknown}; found {list(gates.columns)}", line=1)
    gates.index = gates.index.map(_cell_key)
    cells = values.index.map(_cell_key)
    in_lineage = gates[wanted].sum(axis=1) > 0
    keep = cells.isin(in_lineage.index[in_lineage])
    if not keep.any():
        raise InputError(path, f"no cell belongs to the cell types {wanted} in {files['cell_types']}", line=1)
    values = values.loc[keep]
    flags = gates.loc[cells[keep], wanted]
    labels = [";".join(g for g, on in zip(wanted, row) if on) for row in flags.to_numpy()]
    return _anndata(values, pd.DataFrame({"gates": labels}), _linear_to_log2(values))


def read_cell_gates(path: Path) -> pd.DataFrame:
    """Nestorowa's `all_cell_types.txt`: cells x cell-type gates, 0/1 entries."""
    _, gates = read_matrix(path, None)
    not_binary = ~gates.isin([0, 1]).all(axis=1).to_numpy()
    if not_binary.any():
        row = int(np.flatnonzero(not_binary)[0])
        raise InputError(path, "cell type entries must be 0 or 1", line=row + 2)
    return gates.astype(np.int8)


def _cell_key(name: str) -> str:
    """R turns `-` into `.` in column names; compare cell names with both as `_`."""
    return re.sub(r"[-.]", "_", name)


def _cell_name_part(cells: pd.Index, pattern: re.Pattern, path: Path, expected: str) -> np.ndarray:
    parts = cells.str.extract(pattern, expand=False)
    if parts.isna().any():
        bad = cells[np.asarray(pd.isna(parts))][0]
        raise InputError(path, f"cell name {bad!r} does not look like {expected}", line=1)
    return parts.to_numpy()


PARSERS: dict[str, Callable[[GeoDataset, Mapping[str, Path]], ad.AnnData]] = {
    "hESC": parse_hesc, "hHEP": parse_hhep, "mDC": parse_mdc, "mESC": parse_mesc, "mHSC": parse_mhsc,
}
REQUIRED_FILES = {
    "hESC": ["expression", "networks"],
    "hHEP": ["expression", "networks"],
    "mDC": ["expression", "networks"],
    "mESC": ["expression", "gene_table", "networks"],
    "mHSC": ["expression", "cell_types", "networks"],
}
