from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_baseline_scores

run_baseline_scores(snakemake.input.data, dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
                    snakemake.output[0])
