from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import evidence_ablation_figure, save_figure
from grnlink.report.tables import read_metrics

figure = evidence_ablation_figure(
    read_metrics(snakemake.input.metrics),
    snakemake.params.variants,
    baseline=snakemake.params.baseline,
    labels=snakemake.params.labels,
    protocol=snakemake.wildcards.protocol,
)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
