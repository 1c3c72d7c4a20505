from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.split import write_checked_split

write_checked_split(
    snakemake.input[0],
    int(snakemake.wildcards.seed),
    snakemake.output[0],
    protocol=snakemake.wildcards.protocol,
    fractions=snakemake.params.fractions,
    folds=snakemake.params.folds,
    reference=snakemake.params.reference,
    strict_reference=snakemake.params.strict_reference,
)
