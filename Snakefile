# grnlink: TF -> target link prediction from foundation-model gene embeddings and GNNs,
# with hierarchical GRNs from paired RNA + ATAC. See README.md and docs/ARCHITECTURE.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
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
