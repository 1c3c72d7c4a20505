# Shared helpers: dataset look-ups, the path of every stage's outputs, and the targets.
# Functions live here only (snakemake --lint wants rule files free of functions).
import os

# Every job, pip venv or conda env, imports the library from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (workflow.basedir, os.environ.get("PYTHONPATH")) if p
)

DATASETS = list(config["datasets"])
SEEDS = list(config["seeds"])
MULTIOME_SOURCES = {"simulate", "h5mu"}


wildcard_constraints:
    dataset="|".join(DATASETS) or "NO_DATASET",
    seed=r"\d+",


def dataset_config(dataset):
    return config["datasets"][dataset]


def is_multiome(dataset):
    return dataset_config(dataset)["source"] in MULTIOME_SOURCES


def cell_types(dataset):
    """Cell types of a dataset, known before any job runs (they name output files)."""
    cfg = dataset_config(dataset)
    if cfg["source"] == "simulate":
        return [f"CT{i + 1}" for i in range(cfg["n_cell_types"])]
    return cfg.get("cell_types") or [dataset]


# ---- preprocess (simulate, GENELink import, GEO, user files) -------------------------
def preprocessed(dataset):
    suffix = "h5mu" if is_multiome(dataset) else "h5ad"
    return f"results/{dataset}/preprocessed.{suffix}"


def split_file(dataset, seed):
    return f"results/{dataset}/splits/seed{seed}.tsv"


# ---- grn -------------------------------------------------------------------------------
def grn_celltype(dataset, cell_type):
    return f"results/{dataset}/grn/celltype/{cell_type}.tsv"


def grn_cell_specific(dataset):
    return f"results/{dataset}/grn/cell_specific.h5ad"


def grn_baseline_scores(dataset):
    return f"results/{dataset}/grn/baseline_scores.tsv"


def grn_evaluation(dataset):
    return f"results/{dataset}/grn/evaluation.tsv"


# ---- embed -----------------------------------------------------------------------------
EMBED_MODEL = "results/embed/model"


def embeddings(dataset):
    return f"results/{dataset}/embed/embeddings.h5ad"


# ---- train -----------------------------------------------------------------------------
METRICS_TABLE = "results/tables/metrics.tsv"


# ---- report ----------------------------------------------------------------------------
REPORT_DIR = "results/report"


# ---- targets ---------------------------------------------------------------------------
def all_targets():
    targets = []
    for dataset in DATASETS:
        targets.append(preprocessed(dataset))
        targets += [split_file(dataset, seed) for seed in SEEDS]
    return targets
