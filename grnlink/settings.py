"""Every setting of grnlink, typed and frozen: the one place where a default is written.

Settings flow in three steps (docs/ARCHITECTURE.md):

1. The config, validated against workflow/schemas/, becomes a `Config` of *sections*
   (`Config.from_config`): one frozen dataclass per config section and per dataset entry,
   whose fields are the section's keys one to one, with the schema's defaults (a test
   compares the two, so they cannot drift).
2. Each rule gets only what its job reads: a section's method builds a *narrow* settings
   object (`GrnSettings.celltype()`, `EmbedSettings.pretraining()`,
   `TrainSettings.variant_run(...)`, ...), handed to the job as plain data (`to_params`) so
   that Snakemake sees its values: changing a key a job does not read does not rerun it.
   Resources (threads, device, scheduler address) travel apart from science settings.
3. The job's script turns the plain data back into the typed object (`from_params`) and
   calls the stage's entry point, which takes that object and keyword-only paths.

Narrow objects have no defaults of their own (apart from library choices that are no
config key); they come from a section. This module imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union

T = TypeVar("T")

SPLIT_PROTOCOLS = ("genelink", "tf_holdout", "gene_holdout")


# ---- plain data <-> typed objects ------------------------------------------------------
def to_params(settings: Any) -> dict[str, Any]:
    """A settings object as plain dicts, lists and scalars (what Snakemake params compare)."""
    return _plain(dataclasses.asdict(settings))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def from_params(cls: type[T], values: Mapping[str, Any]) -> T:
    """The settings object of type `cls` from `to_params`' plain data (nested ones too)."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _typed(hints[f.name], values[f.name]) for f in fields(cls) if f.name in values})


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    for option in options:
        if dataclasses.is_dataclass(option):
            return from_params(option, value)
        if typing.get_origin(option) is tuple:
            args = typing.get_args(option)
            return tuple(_typed(args[0], item) for item in value)
    return value


def _frozen(value: Any) -> Any:
    """Config lists as tuples (settings are immutable); mappings keep their type."""
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


class Section:
    """A config section: `from_config` takes its keys one to one (unknown keys fail)."""

    config_name: ClassVar[str] = "config"

    @classmethod
    def from_config(cls: type[T], cfg: Mapping[str, Any] | None) -> T:
        cfg = dict(cfg or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - names)
        if unknown:
            raise ValueError(f"{cls.config_name}: unknown key(s) {unknown}")
        nested = _nested_sections(cls)
        return cls(**{key: nested[key].from_config(value) if key in nested else _frozen(value)
                      for key, value in cfg.items()})


def _nested_sections(cls: type) -> dict[str, type[Section]]:
    hints = typing.get_type_hints(cls)
    return {name: hint for name, hint in hints.items()
            if typing.get_origin(hint) is None and isinstance(hint, type) and issubclass(hint, Section)}


# ---- datasets (simulate and preprocess) ------------------------------------------------
PROXIMAL_PEAK_SHARE = 0.8


@dataclass(frozen=True)
class SimulationParams:
    """Sizes and noise levels of a simulated dataset (grnlink.simulate)."""

    n_cells: int
    n_cell_types: int
    n_tfs: int
    n_genes: int
    n_peaks: int
    seed: int
    regulators_per_target: float
    tf_hub_exponent: float
    regulator_load_spread: float
    specific_edges_per_cell_type: float
    decoy_motif_hits: float
    motif_recall: float
    distal_enhancer_share: float
    promoter_decoys_per_gene: int
    cell_noise: float
    intrinsic_noise: float
    umis_per_cell: float
    nb_dispersion: float
    dropout_quantile: float
    atac_depth: float

    def __post_init__(self) -> None:
        if self.n_cell_types < 1 or self.n_cells < 2 * self.n_cell_types:
            raise ValueError("need at least one cell type and two cells per cell type")
        if not 2 <= self.n_tfs < self.n_genes:
            raise ValueError("need 2 <= n_tfs < n_genes")
        # Worst case: a gene's regulators act through one shared and one enhancer per cell type.
        per_gene = self.n_cell_types + 1 + self.promoter_decoys_per_gene
        if self.peaks_per_gene < per_gene:
            needed = math.ceil(per_gene * self.n_genes / PROXIMAL_PEAK_SHARE)
            raise ValueError(
                f"n_peaks={self.n_peaks} is too small: {PROXIMAL_PEAK_SHARE:.0%} of the peaks belong to "
                f"the n_genes={self.n_genes} genes and every gene needs n_cell_types + 1 + "
                f"promoter_decoys_per_gene = {per_gene} (its enhancers and promoter decoys), "
                f"i.e. n_peaks >= {needed}"
            )

    @property
    def peaks_per_gene(self) -> int:
        """A gene's own peaks: its enhancers (near its TSS or distal), promoter decoys, other nearby peaks."""
        return int(self.n_peaks * PROXIMAL_PEAK_SHARE) // self.n_genes


@dataclass(frozen=True)
class Preprocessing:
    """QC, normalisation and gene selection of a dataset of counts (grnlink.singlecell)."""

    n_top_genes: int
    min_genes_per_cell: int
    min_cells_per_gene: int
    min_peaks_per_cell: int
    min_cells_per_peak: int
    target_sum: float
    n_lsi_components: int
    normalize: bool


@dataclass(frozen=True, kw_only=True)
class GeneSelectionKeys:
    """The gene selection key every rebuilt (not GENELink) dataset has."""

    n_top_genes: int = 500


@dataclass(frozen=True, kw_only=True)
class PreprocessingKeys(GeneSelectionKeys):
    """The QC and normalisation keys of the datasets preprocessed from counts."""

    min_genes_per_cell: int = 10
    min_cells_per_gene: int = 3
    min_peaks_per_cell: int = 10
    min_cells_per_peak: int = 3
    target_sum: float = 10000.0
    n_lsi_components: int = 20


@dataclass(frozen=True, kw_only=True)
class SimulatedDataset(PreprocessingKeys, Section):
    """`source: simulate`: the built-in paired RNA + ATAC simulator (CT1..CTk cell types)."""

    config_name: ClassVar[str] = "datasets.<simulate>"
    source: str = "simulate"
    n_cells: int = 3000
    n_cell_types: int = 4
    n_tfs: int = 60
    n_genes: int = 600
    n_peaks: int = 6000
    seed: int = 0
    regulators_per_target: float = 2.0
    tf_hub_exponent: float = 1.0
    regulator_load_spread: float = 0.8
    specific_edges_per_cell_type: float = 0.25
    decoy_motif_hits: float = 6.0
    motif_recall: float = 0.8
    distal_enhancer_share: float = 0.3
    promoter_decoys_per_gene: int = 1
    cell_noise: float = 0.8
    intrinsic_noise: float = 0.3
    umis_per_cell: float = 1500.0
    nb_dispersion: float = 2.0
    dropout_quantile: float = 0.1
    atac_depth: float = 1.0

    def simulation(self) -> SimulationParams:
        return SimulationParams(**{f.name: getattr(self, f.name) for f in fields(SimulationParams)})

    def preprocessing(self) -> Preprocessing:
        return _preprocessing(self, normalize=True)


@dataclass(frozen=True)
class GenelinkDataset(Section):
    """`source: genelink`: a GENELink benchmark folder (grnlink.genelink)."""

    config_name: ClassVar[str] = "datasets.<genelink>"
    path: str
    source: str = "genelink"


@dataclass(frozen=True)
class GeneTableColumns(Section):
    """Columns of a GEO series' gene id table (`gene_table` of a geo dataset)."""

    config_name: ClassVar[str] = "datasets.<geo>.gene_table"
    id_column: str = "Transcript stable ID"
    symbol_column: str = "Gene name"


@dataclass(frozen=True, kw_only=True)
class GeoDataset(GeneSelectionKeys, Section):
    """`source: geo`: a BEELINE dataset rebuilt from its GEO files (grnlink.geo)."""

    config_name: ClassVar[str] = "datasets.<geo>"
    series: str
    files: Mapping[str, str]
    network: str
    tfs: str
    source: str = "geo"
    keep_cells: str = ""
    drop_cells: str = ""
    lineage_cell_types: tuple[str, ...] = ()
    gene_table: GeneTableColumns = GeneTableColumns()


@dataclass(frozen=True, kw_only=True)
class UserFileDataset(PreprocessingKeys, Section):
    """`source: h5ad` or `h5mu`: a user's file with a network and a TF list."""

    config_name: ClassVar[str] = "datasets.<h5ad/h5mu>"
    source: str
    path: str
    network: str
    tfs: str
    cell_types: tuple[str, ...]
    cell_type_key: str = "cell_type"
    genes: str | None = None
    motif_hits: str | None = None
    normalize: bool = True

    def preprocessing(self) -> Preprocessing:
        return _preprocessing(self, normalize=self.normalize)


def _preprocessing(dataset: SimulatedDataset | UserFileDataset, *, normalize: bool) -> Preprocessing:
    return Preprocessing(**{f.name: getattr(dataset, f.name) for f in fields(Preprocessing) if f.name != "normalize"},
                         normalize=normalize)


DatasetSettings = SimulatedDataset | GenelinkDataset | GeoDataset | UserFileDataset
DATASET_SETTINGS: dict[str, type[Section]] = {
    "simulate": SimulatedDataset, "genelink": GenelinkDataset, "geo": GeoDataset,
    "h5ad": UserFileDataset, "h5mu": UserFileDataset,
}


def dataset_settings(entry: Mapping[str, Any]) -> DatasetSettings:
    """The typed settings of one `datasets` entry, by its `source`."""
    source = entry.get("source")
    if source not in DATASET_SETTINGS:
        raise ValueError(f"unknown dataset source {source!r}; choose one of {sorted(DATASET_SETTINGS)}")
    return DATASET_SETTINGS[source].from_config(entry)


# ---- downloads -------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: waits are `backoff_s * 2**attempt`."""

    retries: int
    backoff_s: float
    timeout_s: float


@dataclass(frozen=True)
class RemoteFile(Section):
    """One entry of `downloads.files`: where the file comes from (`url`, or `geo`: a GEO
    series whose supplementary file it is) and the checks it must pass."""

    config_name: ClassVar[str] = "downloads.files.<name>"
    url: str | None = None
    geo: str | None = None
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    def checks(self) -> dict[str, int | str]:
        """The given checks, as `grnlink.download.download`'s keywords."""
        return {name: value for name in ("size", "md5", "sha256") if (value := getattr(self, name)) is not None}


@dataclass(frozen=True)
class DownloadSettings(Section):
    """The `downloads` section: the retry policy and the remote files by name."""

    config_name: ClassVar[str] = "downloads"
    retries: int = 5
    backoff_s: float = 2.0
    timeout_s: float = 60.0
    files: Mapping[str, RemoteFile] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> DownloadSettings:
        cfg = dict(cfg or {})
        files = cfg.pop("files", {})
        section = super().from_config(cfg)
        return dataclasses.replace(section, files={name: RemoteFile.from_config(entry) for name, entry in files.items()})

    def policy(self) -> RetryPolicy:
        return RetryPolicy(retries=self.retries, backoff_s=self.backoff_s, timeout_s=self.timeout_s)


# ---- split -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SplitSettings(Section):
    """The `split` section: protocols, held-out folds, part fractions, published check."""

    config_name: ClassVar[str] = "split"
    protocols: tuple[str, ...] = SPLIT_PROTOCOLS
    holdout_folds: int = 5
    train: float = 0.67
    validation: float = 0.10
    test: float = 0.23
    check_published: bool = True

    @property
    def fractions(self) -> tuple[float, float, float]:
        return (self.train, self.validation, self.test)


# ---- grn -------------------------------------------------------------------------------
GRN_BACKENDS = ("rustscenic", "arboreto")


@dataclass(frozen=True)
class GrnBoostSettings:
    """GRNBoost2's boosting (stochastic gradient boosting with early stopping), run by
    `backend` (GRN_BACKENDS)."""

    max_trees: int
    learning_rate: float
    max_features: float
    subsample: float
    early_stop_window: int
    seed: int
    backend: str = "rustscenic"

    def __post_init__(self) -> None:
        if self.backend not in GRN_BACKENDS:
            raise ValueError(f"grn.backend {self.backend!r}: choose one of {GRN_BACKENDS}")

    def regressor_kwargs(self) -> dict[str, float | int]:
        """Keyword arguments of arboreto's regressor (the seed goes to its fit call)."""
        return {"learning_rate": self.learning_rate, "n_estimators": self.max_trees,
                "max_features": self.max_features, "subsample": self.subsample}

    def rustscenic_kwargs(self) -> dict[str, float | int]:
        """Keyword arguments of `rustscenic.grn.infer` (its tree depth, 3, is arboreto's)."""
        return {"n_estimators": self.max_trees, "learning_rate": self.learning_rate,
                "max_features": self.max_features, "subsample": self.subsample,
                "early_stop_window": self.early_stop_window, "seed": self.seed}


@dataclass(frozen=True)
class CellTypeGrnSettings:
    """What a cell-type GRN job reads (grnlink.grn.celltype)."""

    seed: int
    boosting: GrnBoostSettings
    peak_window: int
    cells_per_metacell: int
    link_correlation_scope: str
    min_accessibility: float
    link_pvalue: float
    atac_weight: float

    def __post_init__(self) -> None:
        if self.link_correlation_scope not in ("dataset", "cell_type"):
            raise ValueError("link_correlation_scope must be 'dataset' or 'cell_type'")


@dataclass(frozen=True)
class CellSpecificGrnSettings:
    """What the cell-specific GRN job reads (grnlink.grn.cell_specific)."""

    seed: int
    regulon_top_tfs: int
    regulon_min_correlation: float
    regulon_min_size: int
    aucell_auc_threshold: float
    csn_box_fraction: float
    csn_threshold: float
    chunk_mb: int


@dataclass(frozen=True)
class GrnSettings(Section):
    """The `grn` section (keys documented in grn.schema.yaml)."""

    config_name: ClassVar[str] = "grn"
    seed: int = 0
    threads: int = 2
    backend: str = "rustscenic"
    scheduler_address: str | None = None
    max_trees: int = 500
    learning_rate: float = 0.01
    max_features: float = 0.1
    subsample: float = 0.9
    early_stop_window: int = 25
    peak_window: int = 250_000
    cells_per_metacell: int = 10
    link_correlation_scope: str = "dataset"
    min_accessibility: float = 0.1
    link_pvalue: float = 0.05
    atac_weight: float = 0.5
    regulon_top_tfs: int = 5
    regulon_min_correlation: float = 0.03
    regulon_min_size: int = 5
    aucell_auc_threshold: float = 0.05
    csn_box_fraction: float = 0.1
    csn_threshold: float = 2.326
    chunk_mb: int = 256
    motif_pvalue: float = 1e-4
    motif_hits: Mapping[str, str] = field(default_factory=dict)
    genome_fasta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheduler_address and self.backend != "arboreto":
            raise ValueError(f"grn.scheduler_address runs arboreto's regressions on dask, but grn.backend is "
                             f"{self.backend!r}: set grn.backend: arboreto")

    def boosting(self) -> GrnBoostSettings:
        return GrnBoostSettings(max_trees=self.max_trees, learning_rate=self.learning_rate,
                                max_features=self.max_features, subsample=self.subsample,
                                early_stop_window=self.early_stop_window, seed=self.seed, backend=self.backend)

    def celltype(self) -> CellTypeGrnSettings:
        return CellTypeGrnSettings(
            seed=self.seed, boosting=self.boosting(), peak_window=self.peak_window,
            cells_per_metacell=self.cells_per_metacell, link_correlation_scope=self.link_correlation_scope,
            min_accessibility=self.min_accessibility, link_pvalue=self.link_pvalue, atac_weight=self.atac_weight,
        )

    def cell_specific(self) -> CellSpecificGrnSettings:
        return CellSpecificGrnSettings(**{f.name: getattr(self, f.name) for f in fields(CellSpecificGrnSettings)})


# ---- embed -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PretrainSettings:
    """Size and schedule of the self-pretrained model (grnlink.embed.pretrain)."""

    num_layers: int
    hidden_size: int
    num_heads: int
    intermediate_size: int
    max_length: int
    max_steps: int
    patience: int
    eval_every: int
    batch_size: int
    learning_rate: float
    mask_fraction: float
    validation_fraction: float
    seed: int


@dataclass(frozen=True)
class ExtractionSettings:
    """What the embed job reads besides its files (grnlink.embed.extract); `model_name` is
    what tables and figures call the model (`EmbedSettings.model_name`)."""

    backend: str
    model_name: str
    layer: int
    batch_size: int
    seed: int


@dataclass(frozen=True)
class PcaControlSettings:
    """The PCA control embedding (grnlink.embed.pca): the seed of its randomized SVD."""

    seed: int


# Geneformer V1's public dictionaries, shipped in resources/geneformer/ (provenance in its
# README): the defaults of `backend: geneformer`, by the config key that replaces each.
GENEFORMER_RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "geneformer"
GENEFORMER_V1_DICTIONARIES = {
    "token_dictionary": "token_dictionary.pkl",
    "gene_median_dictionary": "gene_median_dictionary.pkl",
    "mapping_table": "gene_name_id_dict.pkl",
}


@dataclass(frozen=True)
class EmbedSettings(Section):
    """The `embed` section (keys documented in embed.schema.yaml)."""

    config_name: ClassVar[str] = "embed"
    backend: str = "pretrain"
    checkpoint: str | None = None
    token_dictionary: str | None = None
    gene_median_dictionary: str | None = None
    mapping_table: str | None = None
    layer: int = -2
    batch_size: int = 64
    device: str = "auto"
    seed: int = 0
    pretrain_num_layers: int = 2
    pretrain_hidden_size: int = 64
    pretrain_num_heads: int = 4
    pretrain_intermediate_size: int = 128
    pretrain_max_length: int = 512
    pretrain_max_steps: int = 200
    pretrain_patience: int = 3
    pretrain_eval_every: int = 25
    pretrain_batch_size: int = 16
    pretrain_learning_rate: float = 5e-3
    pretrain_mask_fraction: float = 0.15
    pretrain_validation_fraction: float = 0.05

    def pretraining(self) -> PretrainSettings:
        return PretrainSettings(seed=self.seed, **{f.name: getattr(self, f"pretrain_{f.name}")
                                                   for f in fields(PretrainSettings) if f.name != "seed"})

    def extraction(self) -> ExtractionSettings:
        return ExtractionSettings(backend=self.backend, model_name=self.model_name(), layer=self.layer,
                                  batch_size=self.batch_size, seed=self.seed)

    def pca_control(self) -> PcaControlSettings:
        return PcaControlSettings(seed=self.seed)

    def model_name(self) -> str:
        """What tables and figures call the embedding model: "Geneformer" only for a
        Geneformer checkpoint, the self-pretrained model by its size."""
        if self.backend == "geneformer":
            return f"Geneformer checkpoint {Path(str(self.checkpoint)).name}"
        return f"self-pretrained BERT, {self.pretrain_num_layers} layers x {self.pretrain_hidden_size}"

    def dictionary_files(self) -> dict[str, str]:
        """The dictionary files of the embed job by config key: with `backend: geneformer`
        each configured one, else Geneformer V1's shipped file; the self-pretrained
        checkpoint holds its own dictionaries and needs no mapping table."""
        if self.backend != "geneformer":
            return {}
        return {key: getattr(self, key) or str(GENEFORMER_RESOURCES / file_name)
                for key, file_name in GENEFORMER_V1_DICTIONARIES.items()}


# ---- train -----------------------------------------------------------------------------
GRAPH_MODELS = ("scregnet", "genelink", "grnlink")
SUPERVISED_MODELS = (*GRAPH_MODELS, "degree", "evidence_lr")
# Models that read the grn stage's pair-evidence table (grnlink.grn.evidence), and the
# evidence groups a variant may use (their columns: grnlink.grn.evidence.EVIDENCE_GROUPS).
EVIDENCE_MODELS = ("grnlink", "evidence_lr")
EVIDENCE_GROUP_NAMES = ("atac", "grnboost2", "coexpression", "cell_specific")
# Each unsupervised model is a score column of the grn stage's baseline scores
# (grnlink.dataset.BASELINE_COLUMNS).
UNSUPERVISED_MODELS = ("pearson", "grnboost2", "celltype_grn")
PERTURBATIONS = ("none", "coexpression", "prior")
ENCODERS = ("gcn", "sage", "gat", "none")
FUSIONS = ("concat", "cross_attention")
EMBEDDINGS = (True, False, "pca")
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
MODEL_LABELS = {
    "scregnet": "scRegNet", "genelink": "GENELink", "pearson": "|Pearson|", "grnboost2": "GRNBoost2",
    "celltype_grn": "Cell-type GRN (unsupervised)",
    "degree": "Degree baseline (label-only)", "grnlink": "grnlink (degree + GRN evidence + GNN)",
    "evidence_lr": "Evidence LR (degree + GRN evidence)",
}
EVIDENCE_LABELS = {"atac": "ATAC", "grnboost2": "GRNBoost2", "coexpression": "co-expression",
                   "cell_specific": "cell-specific GRNs"}
ENCODER_LABELS = {"gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}
PERTURBATION_LABELS = {"coexpression": "co-expression edges", "prior": "GRN-prior edges"}
FUSION_LABELS = {"cross_attention": "cross-attention fusion"}


@dataclass(frozen=True)
class Variant(Section):
    """One entry of the `train.variants` list: a model and what it reads."""

    config_name: ClassVar[str] = "train.variants[]"
    name: str
    model: str = "scregnet"
    encoder: str = "gcn"
    embedding: bool | str = True
    perturbation: str = "none"
    perturbation_ratio: float = 0.2
    noise: bool = False
    fusion: str = "concat"
    classifier_layers: int = 0
    pair_coexpression: bool = False
    evidence: tuple[str, ...] = EVIDENCE_GROUP_NAMES

    def __post_init__(self) -> None:
        if self.model not in SUPERVISED_MODELS + UNSUPERVISED_MODELS:
            raise ValueError(f"variant {self.name}: unknown model {self.model!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"variant {self.name}: unknown encoder {self.encoder!r}")
        if self.perturbation not in PERTURBATIONS:
            raise ValueError(f"variant {self.name}: unknown perturbation {self.perturbation!r}")
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"variant {self.name}: embedding must be true, false or 'pca', not {self.embedding!r}")
        if self.model == "scregnet" and self.encoder == "none" and not self.embedding:
            raise ValueError(f"variant {self.name}: scRegNet without GNN needs the embedding")
        if self.fusion not in FUSIONS:
            raise ValueError(f"variant {self.name}: unknown fusion {self.fusion!r}")
        if self.fusion == "cross_attention" and (self.encoder == "none" or not self.embedding):
            raise ValueError(f"variant {self.name}: cross-attention fusion needs the GNN and the embedding")
        if self.model != "scregnet" and (self.classifier_layers or self.pair_coexpression):
            raise ValueError(f"variant {self.name}: classifier_layers and pair_coexpression are scRegNet keys")
        unknown = sorted(set(self.evidence) - set(EVIDENCE_GROUP_NAMES))
        if unknown:
            raise ValueError(f"variant {self.name}: unknown evidence group(s) {unknown}; "
                             f"choose from {list(EVIDENCE_GROUP_NAMES)}")
        if self.model == "grnlink" and self.encoder == "none" and not self.embedding:
            raise ValueError(f"variant {self.name}: grnlink needs the GNN, the embedding or both")

    @property
    def uses_embedding(self) -> bool:
        """Reads a gene embedding: the foundation model's or its PCA control (`embedding_kind`)."""
        return self.model in ("scregnet", "grnlink") and self.embedding is not False

    @property
    def embedding_kind(self) -> str | None:
        """`fm` (the foundation model's embedding), `pca` (the control of the same width) or None."""
        if not self.uses_embedding:
            return None
        return "pca" if self.embedding == "pca" else "fm"

    @property
    def uses_baseline_scores(self) -> bool:
        """Reads the grn stage's unsupervised pair scores."""
        return self.model in UNSUPERVISED_MODELS

    @property
    def uses_pair_evidence(self) -> bool:
        """Reads the grn stage's pair-evidence table: as pair features (grnlink, evidence_lr)
        or for the inferred GRN graph (grnlink's GNN, any cross-attention fusion)."""
        return self.model in EVIDENCE_MODELS or self.uses_grn_graph

    @property
    def uses_grn_graph(self) -> bool:
        """Its network reads the inferred GRN as a graph: grnlink's GNN relation and the
        cross-attention fusion's neighbourhood."""
        return self.model == "grnlink" or (self.model == "scregnet" and self.fusion == "cross_attention")

    @property
    def evidence_groups(self) -> tuple[str, ...]:
        """The evidence groups it uses as pair features (none outside EVIDENCE_MODELS)."""
        return self.evidence if self.model in EVIDENCE_MODELS else ()

    @property
    def uses_prior_tables(self) -> bool:
        """Reads the grn stage's cell-type GRN tables (prior edges of the training graph)."""
        return self.model == "scregnet" and self.perturbation == "prior"

    @property
    def label(self) -> str:
        """A reader's name, built from the fields that differ from scRegNet as published
        (other models, the baselines among them, are named by the model alone)."""
        label = MODEL_LABELS[self.model]
        missing = [EVIDENCE_LABELS[g] for g in EVIDENCE_GROUP_NAMES if g not in self.evidence_groups]
        if self.model in EVIDENCE_MODELS and missing:
            label += " w/o " + ", ".join(missing) + " evidence"
        if self.model not in ("scregnet", "grnlink"):
            return label
        if self.encoder == "none":
            label += " w/o GNN"
        elif self.encoder != "gcn":
            label += f" ({ENCODER_LABELS[self.encoder]})"
        if not self.embedding:
            label += " w/o embedding"
        elif self.embedding == "pca":
            label += ", PCA embedding (control)"
        if self.fusion != "concat":
            label += f", {FUSION_LABELS[self.fusion]}"
        if self.pair_coexpression:
            label += " + pair co-expression"
        if self.classifier_layers:
            label += f", {self.classifier_layers}-hidden-layer classifier"
        if self.perturbation != "none":
            label += f" + {PERTURBATION_LABELS[self.perturbation]} ({100 * self.perturbation_ratio:g}%)"
        return label

    @property
    def is_published_scregnet(self) -> bool:
        """scRegNet as published: concatenation fusion, linear classifier, no edge perturbation."""
        return (self.model == "scregnet" and self.perturbation == "none" and self.fusion == "concat"
                and not self.classifier_layers and not self.pair_coexpression)

    @property
    def has_noise_runs(self) -> bool:
        """Has label-noise runs (when its protocol is one of `train.noise_protocols`)."""
        return self.noise and self.model in SUPERVISED_MODELS


DEFAULT_VARIANTS = (
    Variant("degree", model="degree", noise=True),
    Variant("scregnet", noise=True),
    Variant("scregnet_no_embedding", embedding=False),
    Variant("scregnet_pca", embedding="pca"),
    Variant("scregnet_no_gnn", encoder="none"),
    Variant("scregnet_sage", encoder="sage"),
    Variant("scregnet_gat", encoder="gat"),
    Variant("scregnet_coexpression", perturbation="coexpression", perturbation_ratio=0.2),
    Variant("scregnet_prior", perturbation="prior", perturbation_ratio=0.2),
    Variant("scregnet_cross_attention", fusion="cross_attention"),
    Variant("scregnet_pair_coexpression", pair_coexpression=True, classifier_layers=1),
    Variant("genelink", model="genelink", noise=True),
    Variant("evidence_lr", model="evidence_lr"),
    Variant("grnlink", model="grnlink"),
    Variant("pearson", model="pearson"),
    Variant("grnboost2", model="grnboost2"),
    Variant("celltype_grn", model="celltype_grn"),
)


@dataclass(frozen=True)
class FitOptions:
    """How a graph model is fitted (grnlink.train.fit). `lr_decay`: factor applied to the
    learning rate after every optimisation step, i.e. every batch (GENELink's published
    decay); 1.0 keeps it constant, and a full-batch fit takes one step per epoch."""

    epochs: int
    patience: int
    lr: float
    weight_decay: float
    batch_size: int
    lr_decay: float
    edge_holdout: float
    optimizer: str = "adam"  # not a config key: only an Optuna search changes it

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZER_NAMES}")


@dataclass(frozen=True)
class NetworkSizes:
    """Sizes of the scRegNet and grnlink networks (grnlink.train.build); `grn_edge_ratio`:
    inferred GRN edges of their GRN graph per undirected training edge (0: no GRN graph)."""

    hidden: int
    gnn_layers: int
    mlp_layers: int
    mlp_hidden: int
    dropout: float
    heads: int
    attention_width: int
    attention_heads: int
    attention_dropout: float
    grn_edge_ratio: float


@dataclass(frozen=True)
class VariantRun:
    """What one training job reads: its variant and only the settings that variant uses
    (`model` and `fit` are None for the label-only and unsupervised baselines; no noise
    levels when the variant or its protocol has no label-noise runs)."""

    variant: Variant
    model: NetworkSizes | None
    fit: FitOptions | None
    noise_levels: tuple[float, ...]
    noise_replicates: int
    top_new_edges: int
    optuna_trials: int


@dataclass(frozen=True)
class TrainSettings(Section):
    """The `train` section (keys documented in train.schema.yaml)."""

    config_name: ClassVar[str] = "train"
    variants: tuple[Variant, ...] = DEFAULT_VARIANTS
    noise_levels: tuple[float, ...] = (1, 2, 3, 4)
    noise_protocols: tuple[str, ...] = ("genelink",)
    noise_replicates: int = 10
    noise_seeds: tuple[int, ...] = (0,)
    noise_datasets: tuple[str, ...] | None = None
    epochs: int = 200
    patience: int = 40
    edge_holdout: float = 0.5
    batch_size: int = 65536
    lr: float = 1e-2
    weight_decay: float = 1e-5
    hidden: int = 256
    gnn_layers: int = 2
    mlp_layers: int = 2
    mlp_hidden: int = 128
    dropout: float = 0.2
    heads: int = 4
    attention_width: int = 128
    attention_heads: int = 4
    attention_dropout: float = 0.1
    grn_edge_ratio: float = 1.0
    grnlink_weight_decay: float = 1e-3
    genelink_lr: float = 3e-3
    genelink_lr_decay: float = 0.99
    genelink_epochs: int = 20
    genelink_batch_size: int = 256
    optuna: bool = False
    optuna_trials: int = 20
    top_new_edges: int = 1000
    threads: int = 1
    device: str = "auto"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> TrainSettings:
        cfg = dict(cfg or {})
        variants = cfg.pop("variants", None)
        section = super().from_config(cfg)
        if variants is None:
            return section
        return dataclasses.replace(section, variants=tuple(Variant.from_config(v) for v in variants))

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(f"train.variants has no variant named {name!r}")

    def fit_options(self) -> FitOptions:
        """scRegNet's fit."""
        return FitOptions(epochs=self.epochs, patience=self.patience, lr=self.lr, weight_decay=self.weight_decay,
                          batch_size=self.batch_size, lr_decay=1.0, edge_holdout=self.edge_holdout)

    def grnlink_fit_options(self) -> FitOptions:
        """grnlink's fit: scRegNet's with its own weight decay."""
        return dataclasses.replace(self.fit_options(), weight_decay=self.grnlink_weight_decay)

    def genelink_fit_options(self) -> FitOptions:
        """GENELink's training as published: Adam without weight decay, the learning rate
        decayed after every step, small batches, a fixed number of epochs without early
        stopping (the epoch with the best validation AUROC is kept). The edge hold-out is
        that of the other graph models, so every graph model sees its training graph by the
        same rule."""
        return FitOptions(epochs=self.genelink_epochs, patience=self.genelink_epochs, lr=self.genelink_lr,
                          weight_decay=0.0, batch_size=self.genelink_batch_size, lr_decay=self.genelink_lr_decay,
                          edge_holdout=self.edge_holdout)

    def network_sizes(self, variant: Variant) -> NetworkSizes:
        sizes = {f.name: getattr(self, f.name) for f in fields(NetworkSizes)}
        return NetworkSizes(**{**sizes, "grn_edge_ratio": self.grn_edge_ratio if variant.uses_grn_graph else 0.0})

    @property
    def has_noise_levels(self) -> bool:
        """Noise levels and corrupted priors per level are configured."""
        return bool(self.noise_levels) and self.noise_replicates > 0

    def runs_noise_study(self, *, protocol: str, dataset: str | None = None, seed: int | None = None) -> bool:
        """Whether the training jobs of (`dataset`, `protocol`, split `seed`) run the
        label-noise study (their variants with `noise: true` do): `protocol` in
        `noise_protocols`, `seed` in `noise_seeds`, `dataset` in `noise_datasets` (None:
        every dataset), with noise levels and replicates configured. A None `dataset` or
        `seed` is not restricted (a bench that trains one split)."""
        return (self.has_noise_levels and protocol in self.noise_protocols
                and (seed is None or seed in self.noise_seeds)
                and (dataset is None or self.noise_datasets is None or dataset in self.noise_datasets))

    def variant_run(self, name: str, *, protocol: str, dataset: str | None = None,
                    seed: int | None = None) -> VariantRun:
        """The settings a training job of variant `name` on split `seed` of `protocol` of
        `dataset` reads (see `runs_noise_study` for None)."""
        variant = self.variant(name)
        noise_on = variant.has_noise_runs and self.runs_noise_study(protocol=protocol, dataset=dataset, seed=seed)
        return VariantRun(
            variant=variant,
            model=self.network_sizes(variant) if variant.model in ("scregnet", "grnlink") else None,
            fit={"scregnet": self.fit_options(), "grnlink": self.grnlink_fit_options(),
                 "genelink": self.genelink_fit_options()}.get(variant.model),
            noise_levels=self.noise_levels if noise_on else (),
            noise_replicates=self.noise_replicates if noise_on else 0,
            top_new_edges=self.top_new_edges,
            optuna_trials=self.optuna_trials if self.optuna and variant.model == "scregnet" else 0,
        )


# ---- report ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportSettings(Section):
    """The `report` section: label overrides, decimals of the tables, figure resolution."""

    config_name: ClassVar[str] = "report"
    labels: Mapping[str, str] = field(default_factory=dict)
    decimals: int = 3
    dpi: int = 150


# ---- the whole config ------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """The validated config, typed: built once by the workflow (common.smk)."""

    datasets: Mapping[str, DatasetSettings]
    seeds: tuple[int, ...] = (0, 1, 2)
    downloads: DownloadSettings = DownloadSettings()
    split: SplitSettings = SplitSettings()
    grn: GrnSettings = GrnSettings()
    embed: EmbedSettings = EmbedSettings()
    train: TrainSettings = TrainSettings()
    report: ReportSettings = ReportSettings()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Config:
        unknown = sorted(set(config) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"config: unknown key(s) {unknown}")
        sections = _nested_sections(cls)
        values: dict[str, Any] = {name: section.from_config(config[name])
                                  for name, section in sections.items() if name in config}
        values["datasets"] = {name: dataset_settings(entry) for name, entry in config["datasets"].items()}
        if "seeds" in config:
            values["seeds"] = tuple(config["seeds"])
        result = cls(**values)
        result._check_noise_study()
        return result

    def _check_noise_study(self) -> None:
        """The noise study's datasets exist, and one of its seeds is a split seed."""
        train = self.train
        unknown = sorted(set(train.noise_datasets or ()) - set(self.datasets))
        if unknown:
            raise ValueError(f"train.noise_datasets: {unknown} are not datasets (datasets: {sorted(self.datasets)})")
        noisy = train.has_noise_levels and any(v.has_noise_runs for v in train.variants)
        if noisy and not set(train.noise_seeds) & set(self.seeds):
            raise ValueError(f"train.noise_seeds {list(train.noise_seeds)}: none of them is one of seeds "
                             f"{list(self.seeds)}; list a split seed, or set train.noise_levels: [] for no noise runs")
