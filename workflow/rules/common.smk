# Shared helpers: dataset look-ups, the path of every stage's outputs, and the targets.
# Functions live here only (snakemake --lint wants rule files free of functions).
# SETTINGS is the typed config (grnlink.settings); rules hand each job only the settings
# it reads, as plain data (to_params), so that a change elsewhere does not rerun it.
from grnlink.settings import Config, to_params

SETTINGS = Config.from_config(config)
DATASETS = list(config["datasets"])
SEEDS = list(SETTINGS.seeds)
SPLIT_PROTOCOLS = list(SETTINGS.split.protocols)
NOISE_PROTOCOLS = [p for p in SETTINGS.train.noise_protocols if p in SPLIT_PROTOCOLS]

from grnlink.sources import WorkflowPaths, source_of


def data_source(dataset):
    """Where the dataset's data come from (grnlink.sources): files, modalities, cell types."""
    return source_of(SETTINGS.datasets[dataset])


def is_multiome(dataset):
    return data_source(dataset).multiome


def cell_types(dataset):
    """Cell types of a dataset, known before any job runs (they name output files)."""
    return data_source(dataset).cell_types(dataset, SETTINGS.datasets[dataset])


# ---- download --------------------------------------------------------------------------
import re

DOWNLOADS = SETTINGS.downloads.files
ARCHIVE_SUFFIXES = (".gz", ".zip")


def downloaded(name):
    return f"resources/downloads/{name}"


def unpacked(name):
    """Directory a `.gz` (its one file) or `.zip` (all members) is unpacked into."""
    return f"resources/unpacked/{name}"


def download_regex(archives_only=False):
    names = [n for n in DOWNLOADS if not archives_only or n.endswith(ARCHIVE_SUFFIXES)]
    return "|".join(re.escape(n) for n in names) or "NO_DOWNLOAD"


def download_url(wildcards):
    from grnlink.download import resolve_url

    return resolve_url(wildcards.file, DOWNLOADS[wildcards.file])


def download_checks(wildcards):
    return DOWNLOADS[wildcards.file].checks()


def download_policy():
    return to_params(SETTINGS.downloads.policy())


def local_download(name):
    """Where a job reads a configured download: the file, or the folder it is unpacked into."""
    if name not in DOWNLOADS:
        raise ValueError(f"file {name!r} is not in the config's downloads.files")
    return unpacked(name) if name.endswith(ARCHIVE_SUFFIXES) else downloaded(name)


# ---- preprocess (simulate, GENELink import, GEO, user files) -------------------------
def preprocessed(dataset):
    suffix = "h5mu" if is_multiome(dataset) else "h5ad"
    return f"results/{dataset}/preprocessed.{suffix}"


def preprocessed_input(wildcards):
    """The `{dataset}`'s preprocessed object, as a rule's input."""
    return preprocessed(wildcards.dataset)


def split_file(dataset, protocol, seed):
    return f"results/{dataset}/splits/{protocol}/seed{seed}.tsv"


SIMULATED_DATASETS = [d for d in DATASETS if SETTINGS.datasets[d].source == "simulate"]
SIMULATED_PATTERN = "|".join(re.escape(d) for d in SIMULATED_DATASETS) or "NO_DATASET"


def simulated_raw(dataset):
    return f"results/{dataset}/raw"


INPUT_PATHS = WorkflowPaths(download=local_download, simulated_raw=simulated_raw)


def preprocess_inputs(wildcards):
    """Input files of the preprocess job, by role (the dataset's source)."""
    dataset = wildcards.dataset
    return data_source(dataset).inputs(dataset, SETTINGS.datasets[dataset], INPUT_PATHS)


def check_given_files():
    """Stop before scheduling when a dataset entry names a file that does not exist (one
    no rule makes), naming its config key rather than a job's missing input."""
    from grnlink.sources import missing_given_files

    missing = missing_given_files(SETTINGS.datasets)
    if missing:
        raise WorkflowError("missing input: " + "; ".join(missing))


check_given_files()


def simulation_settings(wildcards):
    """The simulator's parameters only: a change to a preprocessing key does not rerun it."""
    return to_params(SETTINGS.datasets[wildcards.dataset].simulation())


def preprocess_settings(wildcards):
    """The dataset's settings, for the preprocess script."""
    return to_params(SETTINGS.datasets[wildcards.dataset])


def split_reference(wildcards):
    """BEELINE dataset and size ("hHEP", 500) whose published numbers the split checks."""
    from grnlink.split import published_reference

    if not SETTINGS.split.check_published:
        return None
    return published_reference(wildcards.dataset, SETTINGS.datasets[wildcards.dataset])


def split_strict_reference(wildcards):
    """A GENELink folder must match the published numbers; GEO rebuilds are only compared."""
    return SETTINGS.datasets[wildcards.dataset].source == "genelink"


def split_fractions():
    return list(SETTINGS.split.fractions)


def check_holdout_sizes():
    """Stop before scheduling when a held-out protocol cannot fill its folds on a dataset
    whose TFs are known from its config or files (others are checked by the split job).
    """
    from grnlink.split import holdout_problems

    problems = holdout_problems(
        SETTINGS.datasets,
        SPLIT_PROTOCOLS,
        folds=SETTINGS.split.holdout_folds,
        validation_share=SETTINGS.split.validation,
    )
    if problems:
        raise WorkflowError("invalid config: " + "; ".join(problems))


check_holdout_sizes()


# ---- grn -------------------------------------------------------------------------------
def grn_celltype(dataset, cell_type):
    return f"results/{dataset}/grn/celltype/{cell_type}.tsv"


def grn_cell_specific(dataset):
    return f"results/{dataset}/grn/cell_specific.h5ad"


def grn_baseline_scores(dataset):
    return f"results/{dataset}/grn/baseline_scores.tsv"


def grn_pair_evidence(dataset):
    return f"results/{dataset}/grn/pair_evidence.tsv"


def grn_evaluation(dataset):
    return f"results/{dataset}/grn/evaluation.tsv"


def grn_scanned_motifs(dataset):
    return f"results/{dataset}/grn/motif_hits.tsv"


def grn_baseline_input(wildcards):
    return grn_baseline_scores(wildcards.dataset)


def grn_cell_specific_input(wildcards):
    return grn_cell_specific(wildcards.dataset)


def grn_motif_input(wildcards):
    """A motif hit table replacing the preprocessed object's: given, scanned, or none."""
    given = SETTINGS.grn.motif_hits.get(wildcards.dataset)
    if given:
        return {"motifs": given}
    if wildcards.dataset in SETTINGS.grn.genome_fasta:
        return {"motifs": grn_scanned_motifs(wildcards.dataset)}
    return {}


def grn_genome_fasta(wildcards):
    return SETTINGS.grn.genome_fasta[wildcards.dataset]


def grn_celltype_tables(wildcards):
    return [grn_celltype(wildcards.dataset, ct) for ct in cell_types(wildcards.dataset)]


def grn_cell_type_names(wildcards):
    return cell_types(wildcards.dataset)


def grn_split_files(wildcards):
    """The GRN evaluation scores the test pairs of the first protocol's splits."""
    return [split_file(wildcards.dataset, SPLIT_PROTOCOLS[0], seed) for seed in SEEDS]


def grn_targets(dataset):
    outputs = [grn_celltype(dataset, ct) for ct in cell_types(dataset)]
    return outputs + [
        grn_cell_specific(dataset),
        grn_baseline_scores(dataset),
        grn_pair_evidence(dataset),
        grn_evaluation(dataset),
    ]


# ---- embed -----------------------------------------------------------------------------
EMBED_MODEL = "results/embed/model"


def embeddings(dataset, kind="fm"):
    """The foundation model's gene embeddings (`fm`) or their PCA control (`pca`)."""
    name = {"fm": "embeddings", "pca": "pca_control"}[kind]
    return f"results/{dataset}/embed/{name}.h5ad"


def embed_model_dir():
    """Model checkpoint for embedding: self-pretrained, or the configured Geneformer."""
    if SETTINGS.embed.backend == "geneformer":
        return SETTINGS.embed.checkpoint
    return EMBED_MODEL


def embed_inputs(wildcards):
    """Preprocessed object, checkpoint and its dictionary/mapping files."""
    return {
        "data": preprocessed(wildcards.dataset),
        "model": embed_model_dir(),
        **SETTINGS.embed.dictionary_files(),
    }


def embed_pretraining_inputs():
    """Pretraining sees all cells of every configured dataset."""
    return [preprocessed(dataset) for dataset in DATASETS]


# ---- train -----------------------------------------------------------------------------
METRICS_TABLE = "results/tables/metrics.tsv"
TRAIN_VARIANTS = [variant.name for variant in SETTINGS.train.variants]


wildcard_constraints:
    variant="|".join(TRAIN_VARIANTS) or "NO_VARIANT",
    protocol="|".join(SPLIT_PROTOCOLS),


def train_run_file(name):
    """One output of a (dataset, protocol, variant, seed) training run, with wildcards."""
    return f"results/{{dataset}}/train/{{protocol}}/{{variant}}/seed{{seed}}/{name}"


def train_job_files(name):
    """That output for every split seed: a training job runs them all (see train.smk)."""
    return expand(train_run_file(name), seed=SEEDS, allow_missing=True)


def train_variant_runs(wildcards):
    """What the job reads for each seed of SEEDS: its variant and only the train settings
    that variant uses (label-noise levels on the noise study's seeds only)."""
    return [
        to_params(
            SETTINGS.train.variant_run(
                wildcards.variant,
                protocol=wildcards.protocol,
                dataset=wildcards.dataset,
                seed=seed,
            )
        )
        for seed in SEEDS
    ]


def train_inputs(wildcards):
    """Preprocessed object and the splits of every seed, plus what the variant reads: the
    embedding, the unsupervised baseline scores, the inferred cell-type GRNs (prior edges),
    or the pair evidence (features and the inferred GRN graph)."""
    dataset = wildcards.dataset
    variant = SETTINGS.train.variant(wildcards.variant)
    inputs = {
        "preprocessed": preprocessed(dataset),
        "splits": [split_file(dataset, wildcards.protocol, seed) for seed in SEEDS],
    }
    if variant.uses_embedding:
        inputs["embedding"] = embeddings(dataset, variant.embedding_kind)
    if variant.uses_baseline_scores:
        inputs["baseline_scores"] = grn_baseline_scores(dataset)
    if variant.uses_prior_tables:
        inputs["prior_tables"] = [
            grn_celltype(dataset, ct) for ct in cell_types(dataset)
        ]
    if variant.uses_pair_evidence:
        inputs["pair_evidence"] = grn_pair_evidence(dataset)
    return inputs


def train_metrics_files():
    """Every training run's metrics.tsv, by dataset, protocol, variant, then seed."""
    return expand(
        train_run_file("metrics.tsv"),
        dataset=DATASETS,
        protocol=SPLIT_PROTOCOLS,
        variant=TRAIN_VARIANTS,
        seed=SEEDS,
    )


# ---- report ----------------------------------------------------------------------------
REPORT_DIR = "results/report"
REPORT_FIGURES = f"{REPORT_DIR}/figures"
REPORT_TABLES = f"{REPORT_DIR}/tables"
REPORT_PROTOCOLS = "|".join(re.escape(p) for p in SPLIT_PROTOCOLS) or "NO_PROTOCOL"
REPORT_NOISE_PROTOCOLS = (
    "|".join(re.escape(p) for p in NOISE_PROTOCOLS) or "NO_PROTOCOL"
)


def report_roles():
    """Display labels of the configured variants, the variants each figure compares, and
    the degree (label-only) reference."""
    from grnlink.report.variants import variant_roles

    return variant_roles(
        SETTINGS.train.variants,
        SETTINGS.report.labels,
        embedding_model=SETTINGS.embed.model_name(),
    )


def report_gene_sets():
    """Datasets per gene-set size (`TFs+500`, ...): one paper-style table each."""
    from grnlink.report.tables import gene_set_groups, gene_set_size

    return gene_set_groups({d: gene_set_size(SETTINGS.datasets[d]) for d in DATASETS})


def report_gene_set_datasets(wildcards):
    return report_gene_sets()[wildcards.geneset]


def report_table(protocol, gene_set, ext):
    return f"{REPORT_TABLES}/link_prediction_{protocol}_{gene_set}.{ext}"


def report_lift_table(protocol):
    return f"{REPORT_TABLES}/lift_over_degree_{protocol}.tsv"


def report_figure(name, ext):
    return f"{REPORT_FIGURES}/{name}.{ext}"


def report_pr_curve_inputs(wildcards):
    dataset = wildcards.dataset
    return {
        "preprocessed": preprocessed(dataset),
        "celltype": [grn_celltype(dataset, ct) for ct in cell_types(dataset)],
        "baseline": grn_baseline_scores(dataset),
    }


def report_link_precision_table(ext):
    return f"{REPORT_TABLES}/grn_link_precision.{ext}"


def report_paired_cell_types():
    """Cell types of each paired (RNA + ATAC) dataset: the GRN evaluation shows the
    precision of their cell-type GRN edges by peak-gene link correlation."""
    return {d: cell_types(d) for d in DATASETS if is_multiome(d)}


def report_grn_evaluation_inputs(wildcards):
    """Every dataset's GRN evaluation; for the paired ones, also the preprocessed object
    (the truth per cell type) and the cell-type GRNs, dataset after dataset."""
    paired = report_paired_cell_types()
    return {
        "evaluations": [grn_evaluation(d) for d in DATASETS],
        "link_preprocessed": [preprocessed(d) for d in paired],
        "link_tables": [
            grn_celltype(d, ct) for d, types in paired.items() for ct in types
        ],
    }


def report_lift_on():
    """The lift over degree needs the degree variant and one variant to compare with it."""
    degree = report_roles().degree
    return degree is not None and any(name != degree for name in TRAIN_VARIANTS)


def report_metric_figures(protocol):
    """The link-prediction figures of one split protocol that the configured variants
    allow; label noise only in the protocols with noise runs."""
    roles = report_roles()
    noise_on = any(
        SETTINGS.train.runs_noise_study(protocol=protocol, dataset=dataset, seed=seed)
        for dataset in DATASETS
        for seed in SEEDS
    )
    wanted = {
        "ablation": bool(roles.ablations),
        "label_noise": bool(roles.noise) and noise_on,
        "edge_perturbation": bool(roles.perturbations),
        "lift_over_degree": report_lift_on(),
        "evidence_ablation": bool(roles.evidence_ablations) and report_lift_on(),
    }
    return [f"{name}_{protocol}" for name, on in wanted.items() if on]


def report_embedding_table(ext):
    return f"{REPORT_TABLES}/embedding_inputs.{ext}"


def report_embedding_inputs(wildcards):
    """Every dataset's embeddings, and the self-pretrained model (its pretraining record)."""
    inputs = {"embeddings": [embeddings(dataset) for dataset in DATASETS]}
    if SETTINGS.embed.backend == "pretrain":
        inputs["model"] = EMBED_MODEL
    return inputs


def report_targets():
    names = ["grn_evaluation"] + [f"pr_curves_{d}" for d in SIMULATED_DATASETS]
    targets = [f"{REPORT_DIR}/run/versions.tsv", report_embedding_table("md")]
    if TRAIN_VARIANTS:
        for protocol in SPLIT_PROTOCOLS:
            targets += [report_table(protocol, g, "md") for g in report_gene_sets()]
            targets += [report_lift_table(protocol)] if report_lift_on() else []
            names += report_metric_figures(protocol)
    return targets + [report_figure(name, "png") for name in names]


# ---- targets ---------------------------------------------------------------------------
def all_targets():
    targets = []
    for dataset in DATASETS:
        targets.append(preprocessed(dataset))
        targets += [
            split_file(dataset, protocol, seed)
            for protocol in SPLIT_PROTOCOLS
            for seed in SEEDS
        ]
        targets += grn_targets(dataset)
        targets.append(embeddings(dataset))
    if TRAIN_VARIANTS and SEEDS:
        targets.append(METRICS_TABLE)
    targets += report_targets()
    return targets
