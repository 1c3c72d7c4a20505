"""The preprocess stage: a dataset's raw inputs to the preprocessed object (docs/ARCHITECTURE.md).

The dataset's source (grnlink.sources) reads its inputs: the simulator's raw folder or a
user's file through QC, normalisation and ATAC LSI (grnlink.singlecell), a GEO series
through its parser (grnlink.geo), a GENELink folder as it is (grnlink.genelink); every
source ends with the BEELINE benchmark (grnlink.benchmark). This module records where the
data came from and writes the object.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from grnlink import dataset
from grnlink.reproducibility import package_versions
from grnlink.settings import DatasetSettings, SimulatedDataset
from grnlink.sources import source_of

log = logging.getLogger(__name__)


def preprocess_dataset(
    name: str, settings: DatasetSettings, *, inputs: Mapping[str, str], output: str | os.PathLike[str]
) -> dict:
    """Build and write the preprocessed object of dataset `name`; return its benchmark summary.

    `inputs` are the files the workflow gave the job, by role (its source's `inputs`).
    """
    rna, atac = source_of(settings).read(name, settings, inputs)
    rna.uns["grnlink"] = provenance(settings)
    dataset.save(rna, atac, output)
    summary = dict(rna.uns["benchmark"])
    log.info("%s: %s", name, summary)
    return summary


def provenance(settings: DatasetSettings) -> dict:
    """`uns["grnlink"]`: the package versions, the source, and the seed of simulated data."""
    record = {"versions": package_versions(), "source": settings.source}
    if isinstance(settings, SimulatedDataset):
        record["seed"] = settings.seed
    return record
