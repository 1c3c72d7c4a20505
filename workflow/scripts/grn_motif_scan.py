from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_motif_scan

run_motif_scan(snakemake.input.data, snakemake.input.fasta, snakemake.params.settings, snakemake.output[0])
