from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.run_info import write_run_info

write_run_info(snakemake.params.config, snakemake.output.versions, snakemake.output.config)
