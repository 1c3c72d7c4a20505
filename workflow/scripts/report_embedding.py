from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.report.embedding import write_embedding_report

write_embedding_report(
    list(snakemake.input.embeddings),
    snakemake.params.datasets,
    tsv=snakemake.output.tsv,
    markdown=snakemake.output.md,
    model_dir=snakemake.input.get("model"),
)
