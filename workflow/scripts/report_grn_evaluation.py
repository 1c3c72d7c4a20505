from grnlink.logs import log_to
from grnlink.report.figures import grn_evaluation_figure, save_figure
from grnlink.report.grn_results import NETWORK_LABELS, SCOPE_TITLES, read_grn_evaluations

log_to(snakemake.log[0])
evaluation = read_grn_evaluations(snakemake.input.evaluations, snakemake.params.datasets)
figure = grn_evaluation_figure(evaluation, NETWORK_LABELS, SCOPE_TITLES)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
