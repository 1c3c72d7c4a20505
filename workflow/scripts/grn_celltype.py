from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_celltype

run_celltype(snakemake.input.data, snakemake.wildcards.cell_type, snakemake.params.settings, snakemake.output[0],
             threads=snakemake.threads, motif_hits=snakemake.input.get("motifs"))
