from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_pair_evidence

run_pair_evidence(
    preprocessed=snakemake.input.data,
    celltype_paths=dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
    cell_specific=snakemake.input.cell_specific,
    output=snakemake.output[0],
)
