# grnlink: TF -> target link prediction from foundation-model gene embeddings and GNNs,
# with hierarchical GRNs from paired RNA + ATAC. See README.md and docs/ARCHITECTURE.md.
import re
import sys

from snakemake_interface_common.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")
# The library is imported from this checkout: by this file, and (Snakemake hands its
# sys.path to every script) by every job, in the venv or in a stage's conda env.
sys.path.insert(0, workflow.basedir)
from grnlink.config import describe_validation_error

# The demo config is the default; a config given with --configfile replaces it rather
# than being merged into it (the BEELINE run must not carry the demo dataset along).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# validate() fills defaults only in the schema file it reads, not behind a $ref: each
# section and dataset is validated again with its own schema file so that every default
# is filled (errors are all caught by the first, whole-config validation).
SECTION_SCHEMAS = {
    "downloads": "download",
    "split": "split",
    "grn": "grn",
    "embed": "embed",
    "train": "train",
    "report": "report",
}
try:
    validate(config, "workflow/schemas/config.schema.yaml")
    for section, schema in SECTION_SCHEMAS.items():
        validate(config[section], f"workflow/schemas/{schema}.schema.yaml")
    for dataset in config["datasets"].values():
        validate(dataset, "workflow/schemas/dataset.schema.yaml")
        if dataset["source"] == "geo":
            validate(dataset, "workflow/schemas/geo.schema.yaml")
except WorkflowError as error:
    raise WorkflowError(describe_validation_error(error)) from None


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS) or "NO_DATASET",
    seed=r"\d+",


include: "workflow/rules/download.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/grn.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
