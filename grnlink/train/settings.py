"""What a training run is asked to do, without torch: the variants of the `train.variants`
config list, the hyper-parameters they share and the fit options. grnlink.train.fit trains
with them and grnlink.train.models builds the networks they name; a job that runs a
label-only or unsupervised baseline never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from grnlink.config import dataclass_from_config

GRAPH_MODELS = ("scregnet", "genelink")
SUPERVISED_MODELS = (*GRAPH_MODELS, "degree")
UNSUPERVISED_MODELS = ("pearson", "grnboost2")
PERTURBATIONS = ("none", "coexpression", "prior")
ENCODERS = ("gcn", "sage", "gat", "none")
FUSIONS = ("concat", "cross_attention")
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")


@dataclass(frozen=True)
class FitOptions:
    """Training options. `lr_decay`: factor applied to the learning rate after every
    optimisation step, i.e. every batch (GENELink's published decay); 1.0 keeps it constant,
    and a full-batch fit takes one step per epoch."""

    epochs: int = 200
    patience: int = 40
    lr: float = 1e-2
    weight_decay: float = 1e-5
    batch_size: int = 65536
    lr_decay: float = 1.0
    optimizer: str = "adam"
    edge_holdout: float = 0.5

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZER_NAMES}")


@dataclass(frozen=True)
class Variant:
    """One entry of the `train.variants` config list."""

    name: str
    model: str = "scregnet"
    encoder: str = "gcn"
    embedding: bool = True
    perturbation: str = "none"
    perturbation_ratio: float = 0.2
    noise: bool = False
    fusion: str = "concat"
    classifier_layers: int = 0
    pair_coexpression: bool = False

    def __post_init__(self) -> None:
        if self.model not in SUPERVISED_MODELS + UNSUPERVISED_MODELS:
            raise ValueError(f"variant {self.name}: unknown model {self.model!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"variant {self.name}: unknown encoder {self.encoder!r}")
        if self.perturbation not in PERTURBATIONS:
            raise ValueError(f"variant {self.name}: unknown perturbation {self.perturbation!r}")
        if self.model == "scregnet" and self.encoder == "none" and not self.embedding:
            raise ValueError(f"variant {self.name}: scRegNet without GNN needs the embedding")
        if self.fusion not in FUSIONS:
            raise ValueError(f"variant {self.name}: unknown fusion {self.fusion!r}")
        if self.fusion == "cross_attention" and (self.encoder == "none" or not self.embedding):
            raise ValueError(f"variant {self.name}: cross-attention fusion needs the GNN and the embedding")
        if self.model != "scregnet" and (self.classifier_layers or self.pair_coexpression):
            raise ValueError(f"variant {self.name}: classifier_layers and pair_coexpression are scRegNet keys")

    @classmethod
    def from_config(cls, entry: dict[str, Any]) -> Variant:
        return dataclass_from_config(cls, entry)

    @property
    def uses_embedding(self) -> bool:
        """Reads the foundation-model embedding (the embed stage's output)."""
        return self.model == "scregnet" and self.embedding

    @property
    def uses_baseline_scores(self) -> bool:
        """Reads the grn stage's unsupervised pair scores."""
        return self.model in UNSUPERVISED_MODELS

    @property
    def uses_prior_tables(self) -> bool:
        """Reads the grn stage's cell-type GRN tables (prior edges of the training graph)."""
        return self.model == "scregnet" and self.perturbation == "prior"


def genelink_fit_options(fit_options: FitOptions, lr: float = 3e-3, lr_decay: float = 0.99, epochs: int = 20,
                         batch_size: int = 256) -> FitOptions:
    """GENELink's training as published: Adam at `lr` without weight decay, decayed by
    `lr_decay` after every step, batches of `batch_size` pairs, `epochs` epochs without early
    stopping (the epoch with the best validation AUROC is kept). The edge hold-out is that of
    the other graph models, so every graph model sees its training graph by the same rule."""
    return replace(fit_options, lr=lr, lr_decay=lr_decay, epochs=epochs, patience=epochs, batch_size=batch_size,
                   weight_decay=0.0)


GENELINK_FIT_KEYS = ("lr", "lr_decay", "epochs", "batch_size")
SCREGNET_KEYS = ("hidden", "gnn_layers", "mlp_layers", "mlp_hidden", "dropout", "heads", "attention_width",
                 "attention_heads", "attention_dropout")


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters shared by the variants (the `train` config section)."""

    hidden: int = 256
    gnn_layers: int = 2
    mlp_layers: int = 2
    mlp_hidden: int = 128
    dropout: float = 0.2
    heads: int = 4
    attention_width: int = 128
    attention_heads: int = 4
    attention_dropout: float = 0.1
    fit: FitOptions = field(default_factory=FitOptions)
    genelink_fit: FitOptions = field(default_factory=lambda: genelink_fit_options(FitOptions()))
    optuna_trials: int = 0

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Settings:
        fit_keys = {f.name for f in fields(FitOptions)}
        fit_options = FitOptions(**{k: cfg[k] for k in fit_keys if k in cfg})
        genelink = genelink_fit_options(fit_options, **{k: cfg[f"genelink_{k}"] for k in GENELINK_FIT_KEYS
                                                        if f"genelink_{k}" in cfg})
        trials = cfg.get("optuna_trials", 0) if cfg.get("optuna", False) else 0
        return cls(**{k: cfg[k] for k in SCREGNET_KEYS if k in cfg}, fit=fit_options, genelink_fit=genelink,
                   optuna_trials=trials)

    def scregnet_kwargs(self) -> dict[str, Any]:
        """The shared scRegNet hyper-parameters, as ScRegNet keyword arguments."""
        return {k: getattr(self, k) for k in SCREGNET_KEYS}
