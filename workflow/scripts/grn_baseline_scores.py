from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_baseline_scores

run_baseline_scores(
    preprocessed=snakemake.input.data,
    celltype_paths=dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
    output=snakemake.output[0],
)
