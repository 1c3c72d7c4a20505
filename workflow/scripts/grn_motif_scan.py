from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_motif_scan

run_motif_scan(
    preprocessed=snakemake.input.data,
    fasta=snakemake.input.fasta,
    motif_pvalue=snakemake.params.motif_pvalue,
    output=snakemake.output[0],
)
