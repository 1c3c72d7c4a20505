from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_evaluation

run_evaluation(
    preprocessed=snakemake.input.data,
    celltype_paths=dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
    baseline=snakemake.input.baseline,
    cell_specific=snakemake.input.cell_specific,
    split_paths=dict(zip(snakemake.params.seeds, snakemake.input.splits)),
    dataset_name=snakemake.wildcards.dataset,
    grn_seed=snakemake.params.grn_seed,
    output=snakemake.output[0],
)
