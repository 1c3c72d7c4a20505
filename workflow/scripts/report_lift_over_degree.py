from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import lift_figure, save_figure
from grnlink.report.lift import write_lift_table
from grnlink.report.tables import read_metrics

protocol = snakemake.wildcards.protocol
options = dict(baseline=snakemake.params.baseline, labels=snakemake.params.labels, protocol=protocol)
lift = write_lift_table(read_metrics(snakemake.input.metrics), tsv=snakemake.output.tsv, **options)
save_figure(lift_figure(lift, **options), snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
