from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import perturbation_figure, save_figure
from grnlink.report.tables import read_metrics

figure = perturbation_figure(
    read_metrics(snakemake.input.metrics),
    snakemake.params.reference,
    snakemake.params.variants,
    snakemake.params.labels,
    protocol=snakemake.wildcards.protocol,
    baseline=snakemake.params.baseline,
)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
