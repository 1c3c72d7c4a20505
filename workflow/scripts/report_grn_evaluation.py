from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import grn_evaluation_figure, save_figure
from grnlink.report.grn_results import (
    NETWORK_LABELS, SCOPE_TITLES, cell_types_without_atac_triplets, read_grn_evaluations,
)

evaluation = read_grn_evaluations(snakemake.input.evaluations, snakemake.params.datasets)
without_atac = cell_types_without_atac_triplets(evaluation)
figure = grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES, without_atac)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
