# The preprocess stage: raw inputs (simulator, GENELink folder, GEO, user file) to the
# preprocessed object, and the per-seed train/validation/test splits (grnlink.preprocess,
# grnlink.split).


rule preprocess:
    input:
        unpack(preprocess_inputs),
    output:
        "results/{dataset}/preprocessed.{suffix}",
    log:
        "logs/preprocess/{dataset}_{suffix}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}_{suffix}.tsv"
    wildcard_constraints:
        suffix="h5mu|h5ad",
    conda:
        "../../envs/preprocess.yaml"
    params:
        settings=preprocess_settings,
    script:
        "../scripts/preprocess.py"


rule split:
    input:
        preprocessed_input,
    output:
        split_file("{dataset}", "{protocol}", "{seed}"),
    log:
        "logs/split/{dataset}_{protocol}_seed{seed}.log",
    benchmark:
        "benchmarks/split/{dataset}_{protocol}_seed{seed}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    params:
        fractions=split_fractions(),
        folds=SETTINGS.split.holdout_folds,
        reference=split_reference,
        strict_reference=split_strict_reference,
    script:
        "../scripts/split.py"
