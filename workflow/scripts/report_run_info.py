from grnlink.logs import log_to
from grnlink.report.run_info import write_run_info

log_to(snakemake.log[0])
write_run_info(snakemake.params.config, snakemake.output.versions, snakemake.output.config)
