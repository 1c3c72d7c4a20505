from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.settings import VariantRun, from_params
from grnlink.train.run import run_to_files

run_to_files(
    from_params(VariantRun, snakemake.params.settings),
    dataset_name=snakemake.wildcards.dataset,
    protocol=snakemake.wildcards.protocol,
    seed=int(snakemake.wildcards.seed),
    preprocessed=snakemake.input.preprocessed,
    split=snakemake.input.split,
    outputs=dict(snakemake.output.items()),
    embedding=snakemake.input.get("embedding"),
    baseline_scores=snakemake.input.get("baseline_scores"),
    prior_tables=list(snakemake.input.get("prior_tables", [])),
    pair_evidence=snakemake.input.get("pair_evidence"),
    threads=snakemake.threads,
)
