# The report stage: the papers' tables and figures from the run's outputs, each marked for
# `snakemake --report report.html` with its caption (workflow/report/*.rst).


report: "../report/workflow.rst"


rule report_tables:
    input:
        metrics=METRICS_TABLE,
    output:
        tsv=report(
            report_table("{protocol}", "{geneset}", "tsv"),
            caption="../report/table.rst",
            category="Link prediction, {protocol} split",
            subcategory="Tables",
            labels={
                "table": "methods x datasets",
                "gene set": "{geneset}",
                "format": "TSV",
            },
        ),
        md=report_table("{protocol}", "{geneset}", "md"),
        html=report(
            report_table("{protocol}", "{geneset}", "html"),
            caption="../report/table.rst",
            category="Link prediction, {protocol} split",
            subcategory="Tables",
            labels={
                "table": "methods x datasets",
                "gene set": "{geneset}",
                "format": "HTML",
            },
        ),
    log:
        "logs/report_tables/{protocol}_{geneset}.log",
    benchmark:
        "benchmarks/report_tables/{protocol}_{geneset}.tsv"
    wildcard_constraints:
        protocol=REPORT_PROTOCOLS,
        geneset=r"all|TFs\+\d+",
    conda:
        "../../envs/report.yaml"
    params:
        datasets=report_gene_set_datasets,
        labels=report_roles().labels,
        decimals=SETTINGS.report.decimals,
    script:
        "../scripts/report_tables.py"


rule report_lift_over_degree:
    input:
        metrics=METRICS_TABLE,
    output:
        tsv=report(
            report_lift_table("{protocol}"),
            caption="../report/lift_over_degree.rst",
            category="Link prediction, {protocol} split",
            subcategory="Tables",
            labels={
                "table": "lift over degree",
                "gene set": "all datasets",
                "format": "TSV",
            },
        ),
        png=report(
            report_figure("lift_over_degree_{protocol}", "png"),
            caption="../report/lift_over_degree.rst",
            category="Link prediction, {protocol} split",
            subcategory="Figures",
        ),
        svg=report_figure("lift_over_degree_{protocol}", "svg"),
    log:
        "logs/report_lift_over_degree/{protocol}.log",
    benchmark:
        "benchmarks/report_lift_over_degree/{protocol}.tsv"
    wildcard_constraints:
        protocol=REPORT_PROTOCOLS,
    conda:
        "../../envs/report.yaml"
    params:
        baseline=report_roles().degree,
        labels=report_roles().labels,
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_lift_over_degree.py"


rule report_evidence_ablation:
    input:
        metrics=METRICS_TABLE,
    output:
        png=report(
            report_figure("evidence_ablation_{protocol}", "png"),
            caption="../report/evidence_ablation.rst",
            category="Link prediction, {protocol} split",
            subcategory="Figures",
        ),
        svg=report_figure("evidence_ablation_{protocol}", "svg"),
    log:
        "logs/report_evidence_ablation/{protocol}.log",
    benchmark:
        "benchmarks/report_evidence_ablation/{protocol}.tsv"
    wildcard_constraints:
        protocol=REPORT_PROTOCOLS,
    conda:
        "../../envs/report.yaml"
    params:
        variants=report_roles().evidence_ablations,
        baseline=report_roles().degree,
        labels=report_roles().labels,
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_evidence_ablation.py"


rule report_ablation:
    input:
        metrics=METRICS_TABLE,
    output:
        png=report(
            report_figure("ablation_{protocol}", "png"),
            caption="../report/ablation.rst",
            category="Link prediction, {protocol} split",
            subcategory="Figures",
        ),
        svg=report_figure("ablation_{protocol}", "svg"),
    log:
        "logs/report_ablation/{protocol}.log",
    benchmark:
        "benchmarks/report_ablation/{protocol}.tsv"
    wildcard_constraints:
        protocol=REPORT_PROTOCOLS,
    conda:
        "../../envs/report.yaml"
    params:
        variants=report_roles().ablations,
        baseline=report_roles().degree,
        labels=report_roles().labels,
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_ablation.py"


rule report_label_noise:
    input:
        metrics=METRICS_TABLE,
    output:
        png=report(
            report_figure("label_noise_{protocol}", "png"),
            caption="../report/label_noise.rst",
            category="Link prediction, {protocol} split",
            subcategory="Figures",
        ),
        svg=report_figure("label_noise_{protocol}", "svg"),
    log:
        "logs/report_label_noise/{protocol}.log",
    benchmark:
        "benchmarks/report_label_noise/{protocol}.tsv"
    wildcard_constraints:
        protocol=REPORT_NOISE_PROTOCOLS,
    conda:
        "../../envs/report.yaml"
    params:
        variants=report_roles().noise,
        baseline=report_roles().degree,
        labels=report_roles().labels,
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_label_noise.py"


rule report_edge_perturbation:
    input:
        metrics=METRICS_TABLE,
    output:
        png=report(
            report_figure("edge_perturbation_{protocol}", "png"),
            caption="../report/edge_perturbation.rst",
            category="Link prediction, {protocol} split",
            subcategory="Figures",
        ),
        svg=report_figure("edge_perturbation_{protocol}", "svg"),
    log:
        "logs/report_edge_perturbation/{protocol}.log",
    benchmark:
        "benchmarks/report_edge_perturbation/{protocol}.tsv"
    wildcard_constraints:
        protocol=REPORT_PROTOCOLS,
    conda:
        "../../envs/report.yaml"
    params:
        reference=report_roles().full_model,
        variants=report_roles().perturbations,
        baseline=report_roles().degree,
        labels=report_roles().labels,
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_edge_perturbation.py"


rule report_grn_evaluation:
    input:
        unpack(report_grn_evaluation_inputs),
    output:
        png=report(
            report_figure("grn_evaluation", "png"),
            caption="../report/grn_evaluation.rst",
            category="Inferred GRNs",
        ),
        svg=report_figure("grn_evaluation", "svg"),
        tsv=report(
            report_link_precision_table("tsv"),
            caption="../report/grn_link_precision.rst",
            category="Inferred GRNs",
        ),
        md=report_link_precision_table("md"),
    log:
        "logs/report_grn_evaluation/report.log",
    benchmark:
        "benchmarks/report_grn_evaluation/report.tsv"
    conda:
        "../../envs/report.yaml"
    params:
        datasets=DATASETS,
        link_cell_types=report_paired_cell_types(),
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_grn_evaluation.py"


rule report_pr_curves:
    input:
        unpack(report_pr_curve_inputs),
    output:
        png=report(
            report_figure("pr_curves_{dataset}", "png"),
            caption="../report/pr_curves.rst",
            category="Inferred GRNs",
            labels={"dataset": "{dataset}"},
        ),
        svg=report_figure("pr_curves_{dataset}", "svg"),
    log:
        "logs/report_pr_curves/{dataset}.log",
    benchmark:
        "benchmarks/report_pr_curves/{dataset}.tsv"
    conda:
        "../../envs/report.yaml"
    params:
        cell_types=lambda wildcards: cell_types(wildcards.dataset),
        dpi=SETTINGS.report.dpi,
    script:
        "../scripts/report_pr_curves.py"


rule report_run_info:
    output:
        versions=report(
            f"{REPORT_DIR}/run/versions.tsv",
            caption="../report/versions.rst",
            category="Run",
        ),
        config=report(
            f"{REPORT_DIR}/run/config.yaml",
            caption="../report/config.rst",
            category="Run",
        ),
    log:
        "logs/report_run_info/report.log",
    benchmark:
        "benchmarks/report_run_info/report.tsv"
    conda:
        "../../envs/report.yaml"
    params:
        config=config,
    script:
        "../scripts/report_run_info.py"


rule report_embedding:
    input:
        unpack(report_embedding_inputs),
    output:
        tsv=report(
            report_embedding_table("tsv"),
            caption="../report/embedding.rst",
            category="Embedding",
        ),
        md=report_embedding_table("md"),
    log:
        "logs/report_embedding/report.log",
    benchmark:
        "benchmarks/report_embedding/report.tsv"
    conda:
        "../../envs/report.yaml"
    params:
        datasets=DATASETS,
    script:
        "../scripts/report_embedding.py"
