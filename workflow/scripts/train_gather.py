from grnlink.io import write_table
from grnlink.logs import log_to
from grnlink.train.run import gather_metrics

log_to(snakemake.log[0])
write_table(gather_metrics(list(snakemake.input)), snakemake.output[0])
