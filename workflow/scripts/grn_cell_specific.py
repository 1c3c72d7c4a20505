from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_cell_specific

run_cell_specific(snakemake.input.data, dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
                  snakemake.params.settings, snakemake.output[0])
