from grnlink.logs import log_to
from grnlink.train.run import run_to_files

log_to(snakemake.log[0])
run_to_files(
    dataset_name=snakemake.wildcards.dataset,
    preprocessed=snakemake.input.preprocessed,
    split=snakemake.input.split,
    variant_config=snakemake.params.variant,
    train_config=snakemake.params.settings,
    seed=int(snakemake.wildcards.seed),
    outputs=dict(snakemake.output.items()),
    embedding=snakemake.input.get("embedding"),
    baseline_scores=snakemake.input.get("baseline_scores"),
    prior_tables=list(snakemake.input.get("prior_tables", [])),
    threads=snakemake.threads,
    protocol=snakemake.wildcards.protocol,
    noise_runs=snakemake.params.noise_runs,
)
