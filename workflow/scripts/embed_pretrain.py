from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.embed.pretrain import run_pretraining

run_pretraining(list(snakemake.input), snakemake.output[0], snakemake.params.settings, snakemake.threads)
