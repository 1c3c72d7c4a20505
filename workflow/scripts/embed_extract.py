from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.embed.extract import embed_dataset

embed_dataset(snakemake.input.data, snakemake.input.model, snakemake.output[0], snakemake.params.settings,
              snakemake.threads)
