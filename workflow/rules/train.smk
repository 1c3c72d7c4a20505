# The train stage: scRegNet, its ablations and edge perturbations, GENELink, the label-only
# degree baseline and the unsupervised baselines on the same splits of every protocol;
# label-noise replicates run inside each job (protocols of train.noise_protocols).


rule train_variant:
    input:
        unpack(train_inputs),
    output:
        metrics=train_run_file("metrics.tsv"),
        test_scores=train_run_file("test_scores.tsv"),
        new_edges=train_run_file("predicted_edges.tsv"),
        info=train_run_file("run.json"),
    log:
        "logs/train_variant/{dataset}_{protocol}_{variant}_seed{seed}.log",
    benchmark:
        "benchmarks/train_variant/{dataset}_{protocol}_{variant}_seed{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: SETTINGS.train.threads
    params:
        settings=train_variant_run,
    script:
        "../scripts/train_variant.py"


rule train_gather:
    input:
        train_metrics_files(),
    output:
        METRICS_TABLE,
    log:
        "logs/train_gather/train_gather.log",
    benchmark:
        "benchmarks/train_gather/train_gather.tsv"
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/train_gather.py"
