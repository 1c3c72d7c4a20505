from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.figures import pr_curves_figure, save_figure
from grnlink.report.grn_results import celltype_pr_curves

curves = celltype_pr_curves(
    snakemake.input.preprocessed,
    dict(zip(snakemake.params.cell_types, snakemake.input.celltype)),
    snakemake.input.baseline,
)
figure = pr_curves_figure(snakemake.wildcards.dataset, curves)
save_figure(figure, snakemake.output.png, snakemake.output.svg, dpi=snakemake.params.dpi)
