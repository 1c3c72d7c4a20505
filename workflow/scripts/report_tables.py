from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.tables import read_metrics, write_paper_tables

write_paper_tables(
    read_metrics(snakemake.input.metrics),
    snakemake.params.datasets,
    snakemake.params.labels,
    protocol=snakemake.wildcards.protocol,
    tsv=snakemake.output.tsv,
    markdown=snakemake.output.md,
    html=snakemake.output.html,
    decimals=snakemake.params.decimals,
)
