from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.settings import VariantRun, from_params
from grnlink.train.run import SeedJob, run_to_files

jobs = [
    SeedJob(
        seed=seed,
        run=from_params(VariantRun, settings),
        split=split,
        outputs={key: paths[i] for key, paths in snakemake.output.items()},
    )
    for i, (seed, settings, split) in enumerate(
        zip(snakemake.params.seeds, snakemake.params.settings, snakemake.input.splits)
    )
]
run_to_files(
    jobs,
    dataset_name=snakemake.wildcards.dataset,
    protocol=snakemake.wildcards.protocol,
    preprocessed=snakemake.input.preprocessed,
    embedding=snakemake.input.get("embedding"),
    baseline_scores=snakemake.input.get("baseline_scores"),
    prior_tables=list(snakemake.input.get("prior_tables", [])),
    pair_evidence=snakemake.input.get("pair_evidence"),
    threads=snakemake.threads,
    device=snakemake.config["train"]["device"],
)
