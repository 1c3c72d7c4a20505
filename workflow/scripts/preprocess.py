from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.preprocess import preprocess_dataset

preprocess_dataset(snakemake.wildcards.dataset, snakemake.params.settings, dict(snakemake.input.items()),
                   snakemake.output[0])
