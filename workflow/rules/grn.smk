# The grn stage: cell-type GRNs (GRNBoost2 + ATAC TF -> peak -> gene triplets), the
# unsupervised baseline scores, cell-specific GRNs (AUCell regulons, CSN), the pair-evidence
# table of the link predictor and their evaluation against the ground truth (grnlink.grn).


rule grn_motif_scan:
    input:
        data=preprocessed_input,
        fasta=grn_genome_fasta,
    output:
        grn_scanned_motifs("{dataset}"),
    log:
        "logs/grn_motif_scan/{dataset}.log",
    benchmark:
        "benchmarks/grn_motif_scan/{dataset}.tsv"
    conda:
        "../../envs/grn.yaml"
    params:
        motif_pvalue=SETTINGS.grn.motif_pvalue,
    script:
        "../scripts/grn_motif_scan.py"


rule grn_celltype:
    input:
        unpack(grn_motif_input),
        data=preprocessed_input,
    output:
        grn_celltype("{dataset}", "{cell_type}"),
    log:
        "logs/grn_celltype/{dataset}_{cell_type}.log",
    benchmark:
        "benchmarks/grn_celltype/{dataset}_{cell_type}.tsv"
    conda:
        "../../envs/grn.yaml"
    threads: SETTINGS.grn.threads
    params:
        settings=to_params(SETTINGS.grn.celltype()),
    script:
        "../scripts/grn_celltype.py"


rule grn_baseline_scores:
    input:
        data=preprocessed_input,
        tables=grn_celltype_tables,
    output:
        grn_baseline_scores("{dataset}"),
    log:
        "logs/grn_baseline_scores/{dataset}.log",
    benchmark:
        "benchmarks/grn_baseline_scores/{dataset}.tsv"
    conda:
        "../../envs/grn.yaml"
    params:
        cell_types=grn_cell_type_names,
    script:
        "../scripts/grn_baseline_scores.py"


rule grn_cell_specific:
    input:
        data=preprocessed_input,
        tables=grn_celltype_tables,
    output:
        grn_cell_specific("{dataset}"),
    log:
        "logs/grn_cell_specific/{dataset}.log",
    benchmark:
        "benchmarks/grn_cell_specific/{dataset}.tsv"
    conda:
        "../../envs/grn.yaml"
    params:
        cell_types=grn_cell_type_names,
        settings=to_params(SETTINGS.grn.cell_specific()),
    script:
        "../scripts/grn_cell_specific.py"


rule grn_pair_evidence:
    input:
        data=preprocessed_input,
        tables=grn_celltype_tables,
        cell_specific=grn_cell_specific_input,
    output:
        grn_pair_evidence("{dataset}"),
    log:
        "logs/grn_pair_evidence/{dataset}.log",
    benchmark:
        "benchmarks/grn_pair_evidence/{dataset}.tsv"
    conda:
        "../../envs/grn.yaml"
    params:
        cell_types=grn_cell_type_names,
    script:
        "../scripts/grn_pair_evidence.py"


rule grn_evaluation:
    input:
        data=preprocessed_input,
        tables=grn_celltype_tables,
        baseline=grn_baseline_input,
        cell_specific=grn_cell_specific_input,
        splits=grn_split_files,
    output:
        grn_evaluation("{dataset}"),
    log:
        "logs/grn_evaluation/{dataset}.log",
    benchmark:
        "benchmarks/grn_evaluation/{dataset}.tsv"
    conda:
        "../../envs/grn.yaml"
    params:
        cell_types=grn_cell_type_names,
        seeds=SEEDS,
        grn_seed=SETTINGS.grn.seed,
    script:
        "../scripts/grn_evaluation.py"
