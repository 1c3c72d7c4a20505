from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.split import write_checked_split

write_checked_split(snakemake.input[0], int(snakemake.wildcards.seed), snakemake.output[0],
                    snakemake.params.fractions, snakemake.params.reference,
                    snakemake.params.strict_reference)
