from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.io import write_table
from grnlink.train.run import gather_metrics

write_table(gather_metrics(list(snakemake.input)), snakemake.output[0])
