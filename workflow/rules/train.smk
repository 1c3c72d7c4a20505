# The train stage: scRegNet, its ablations and edge perturbations, GENELink, the label-only
# degree baseline and the unsupervised baselines on the same splits of every protocol;
# label-noise replicates run inside each job (protocols of train.noise_protocols). One job
# trains a variant on the splits of every seed, one seed after another: the dataset is read
# and Python, torch and PyG start once, and each seed still writes its own files.


rule train_variant:
    input:
        unpack(train_inputs),
    output:
        metrics=train_job_files("metrics.tsv"),
        test_scores=train_job_files("test_scores.tsv"),
        new_edges=train_job_files("predicted_edges.tsv"),
        info=train_job_files("run.json"),
    log:
        "logs/train_variant/{dataset}_{protocol}_{variant}.log",
    benchmark:
        "benchmarks/train_variant/{dataset}_{protocol}_{variant}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: SETTINGS.train.threads
    params:
        seeds=SEEDS,
        settings=train_variant_runs,
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
