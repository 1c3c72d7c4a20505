from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_evaluation

run_evaluation(snakemake.input.data, dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
               snakemake.input.baseline, snakemake.input.cell_specific,
               dict(zip(snakemake.params.seeds, snakemake.input.splits)), snakemake.wildcards.dataset,
               snakemake.params.settings, snakemake.output[0])
