"""Where a dataset's data come from: one `DataSource` per `source` of a dataset entry.

A source says which files its preprocess job reads (by role), whether its data are paired
RNA + ATAC, its cell types (known before any job runs: they name output files), which of
its files the config entry names (they must exist before the run), and reads its files into
the preprocessed `(rna, atac)`. The workflow (common.smk) asks it for the job's inputs and,
before scheduling, for the missing given files (`missing_given_files`); the preprocess
stage (grnlink.preprocess) for the reading.

Cheap to import (the workflow imports it when it parses): the readers live in their
modules and are imported when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grnlink.settings import DatasetSettings, GenelinkDataset, GeoDataset, SimulatedDataset, UserFileDataset

if TYPE_CHECKING:
    import anndata as ad

    Modalities = tuple[ad.AnnData, ad.AnnData | None]


@dataclass(frozen=True)
class WorkflowPaths:
    """Where the workflow puts what a preprocess job reads (its conventions, common.smk)."""

    download: Callable[[str], str]  # a `downloads.files` name -> the file, or the folder it is unpacked into
    simulated_raw: Callable[[str], str]  # dataset name -> the simulator's raw folder


@dataclass(frozen=True)
class DataSource:
    """One `source`: `inputs(name, settings, paths)` are the preprocess job's files by role,
    `cell_types(name, settings)` its cell types, `read(name, settings, inputs)` reads exactly
    those inputs into `(rna, atac)` (`atac` None unless `multiome`), `given_files(settings)`
    the `(config key, path)` of the files the entry names, which no rule makes (downloads
    and simulator output are not among them)."""

    multiome: bool
    # `Any`: each source's functions take its own settings class (grnlink.settings).
    inputs: Callable[[str, Any, WorkflowPaths], dict[str, str]]
    cell_types: Callable[[str, Any], list[str]]
    read: Callable[[str, Any, Mapping[str, str]], Modalities]
    given_files: Callable[[Any], list[tuple[str, str]]]


# ---- simulate --------------------------------------------------------------------------
def _simulated_inputs(name: str, settings: SimulatedDataset, paths: WorkflowPaths) -> dict[str, str]:
    return {"raw": paths.simulated_raw(name)}


def _simulated_cell_types(name: str, settings: SimulatedDataset) -> list[str]:
    from grnlink.simulate import cell_type_names

    return cell_type_names(settings.n_cell_types)


def _read_simulated(name: str, settings: SimulatedDataset, inputs: Mapping[str, str]) -> Modalities:
    from grnlink.singlecell import read_simulated

    return read_simulated(inputs["raw"], cell_types=_simulated_cell_types(name, settings),
                          preprocessing=settings.preprocessing())


# ---- genelink --------------------------------------------------------------------------
def _genelink_inputs(name: str, settings: GenelinkDataset, paths: WorkflowPaths) -> dict[str, str]:
    from grnlink.genelink import genelink_files

    return genelink_files(settings.path)


def _genelink_given_files(settings: GenelinkDataset) -> list[tuple[str, str]]:
    """The folder, then its files (a missing folder is named rather than its files)."""
    from grnlink.genelink import genelink_files

    return [("path", settings.path)] + [("path", path) for path in genelink_files(settings.path).values()]


def _read_genelink(name: str, settings: GenelinkDataset, inputs: Mapping[str, str]) -> Modalities:
    from grnlink.genelink import read_genelink_files

    return read_genelink_files(inputs, name), None


# ---- geo -------------------------------------------------------------------------------
def _geo_inputs(name: str, settings: GeoDataset, paths: WorkflowPaths) -> dict[str, str]:
    return {role: paths.download(file_name) for role, file_name in settings.files.items()}


def _read_geo(name: str, settings: GeoDataset, inputs: Mapping[str, str]) -> Modalities:
    from grnlink.benchmark import build_benchmark
    from grnlink.geo import load_raw

    expression, network, tfs = load_raw(name, settings, inputs)
    return build_benchmark(expression, network, tfs, n_top_genes=settings.n_top_genes,
                           source=f"{name} ({settings.network})"), None


# ---- h5ad, h5mu ------------------------------------------------------------------------
def _h5ad_inputs(name: str, settings: UserFileDataset, paths: WorkflowPaths) -> dict[str, str]:
    """The file, the network, the TF list and the gene annotation if given."""
    inputs = {"data": settings.path, "network": settings.network, "tfs": settings.tfs}
    if settings.genes is not None:
        inputs["genes"] = settings.genes
    return inputs


def _h5mu_inputs(name: str, settings: UserFileDataset, paths: WorkflowPaths) -> dict[str, str]:
    """Those of an `.h5ad`, and the motif hits if given."""
    inputs = _h5ad_inputs(name, settings, paths)
    if settings.motif_hits is not None:
        inputs["motif_hits"] = settings.motif_hits
    return inputs


def _h5ad_given_files(settings: UserFileDataset) -> list[tuple[str, str]]:
    return [(key, getattr(settings, key)) for key in ("path", "network", "tfs", "genes")
            if getattr(settings, key) is not None]


def _h5mu_given_files(settings: UserFileDataset) -> list[tuple[str, str]]:
    extra = [("motif_hits", settings.motif_hits)] if settings.motif_hits is not None else []
    return _h5ad_given_files(settings) + extra


def _read_h5ad(name: str, settings: UserFileDataset, inputs: Mapping[str, str]) -> Modalities:
    from grnlink.singlecell import read_user_file

    return read_user_file(name, settings, inputs, paired=False)


def _read_h5mu(name: str, settings: UserFileDataset, inputs: Mapping[str, str]) -> Modalities:
    from grnlink.singlecell import read_user_file

    return read_user_file(name, settings, inputs, paired=True)


# ---- the registry ----------------------------------------------------------------------
def _named_after_dataset(name: str, settings: DatasetSettings) -> list[str]:
    """One cell type, the dataset's name (BEELINE data)."""
    return [name]


def _configured_cell_types(name: str, settings: UserFileDataset) -> list[str]:
    return list(settings.cell_types)


def _made_by_rules(settings: DatasetSettings) -> list[tuple[str, str]]:
    """No given file: the simulator's output and downloads are made by the workflow."""
    return []


SOURCES: dict[str, DataSource] = {
    "simulate": DataSource(multiome=True, inputs=_simulated_inputs, cell_types=_simulated_cell_types,
                           read=_read_simulated, given_files=_made_by_rules),
    "genelink": DataSource(multiome=False, inputs=_genelink_inputs, cell_types=_named_after_dataset,
                           read=_read_genelink, given_files=_genelink_given_files),
    "geo": DataSource(multiome=False, inputs=_geo_inputs, cell_types=_named_after_dataset, read=_read_geo,
                      given_files=_made_by_rules),
    "h5ad": DataSource(multiome=False, inputs=_h5ad_inputs, cell_types=_configured_cell_types,
                       read=_read_h5ad, given_files=_h5ad_given_files),
    "h5mu": DataSource(multiome=True, inputs=_h5mu_inputs, cell_types=_configured_cell_types,
                       read=_read_h5mu, given_files=_h5mu_given_files),
}


def source_of(settings: DatasetSettings) -> DataSource:
    """The source a dataset's settings name."""
    return SOURCES[settings.source]


def missing_given_files(datasets: Mapping[str, DatasetSettings]) -> list[str]:
    """`datasets.<name>.<key>: <path> not found`, for the first missing file each key names
    (relative paths against the working directory)."""
    problems: dict[str, str] = {}
    for name, settings in datasets.items():
        for key, path in source_of(settings).given_files(settings):
            config_key = f"datasets.{name}.{key}"
            if config_key not in problems and not os.path.exists(path):
                problems[config_key] = f"{config_key}: {path} not found"
    return list(problems.values())
