from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import grn_evaluation_figure, save_figure
from grnlink.report.grn_results import (
    NETWORK_LABELS, SCOPE_TITLES, cell_types_without_atac_triplets, link_precision_of_datasets,
    read_grn_evaluations, write_link_precision,
)

evaluation = read_grn_evaluations(snakemake.input.evaluations, snakemake.params.datasets)
without_atac = cell_types_without_atac_triplets(evaluation)
link_precision = link_precision_of_datasets(
    snakemake.params.link_cell_types, snakemake.input.link_preprocessed, snakemake.input.link_tables,
)
write_link_precision(link_precision, tsv=snakemake.output.tsv, markdown=snakemake.output.md)
figure = grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES, without_atac, link_precision)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
