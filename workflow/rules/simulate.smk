# The simulate stage: paired RNA + ATAC with a known peak-mediated network, written in the
# formats real data arrives in (grnlink.simulate).


rule simulate:
    output:
        directory(simulated_raw("{dataset}")),
    log:
        "logs/simulate/{dataset}.log",
    benchmark:
        "benchmarks/simulate/{dataset}.tsv"
    wildcard_constraints:
        dataset=SIMULATED_PATTERN,
    conda:
        "../../envs/simulate.yaml"
    params:
        settings=simulation_settings,
    script:
        "../scripts/simulate.py"
