"""The grn stage's settings (the `grn` config section; keys documented in grn.schema.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from grnlink.config import dataclass_from_config
from grnlink.grn.grnboost import GrnBoostSettings


@dataclass(frozen=True)
class GrnSettings:
    """Defaults as in grn.schema.yaml."""

    seed: int = 0
    max_trees: int = 500
    learning_rate: float = 0.01
    max_features: float = 0.1
    subsample: float = 0.9
    early_stop_window: int = 25
    scheduler_address: str | None = None
    peak_window: int = 50_000
    cells_per_metacell: int = 10
    link_correlation_scope: str = "dataset"
    min_accessibility: float = 0.1
    atac_weight: float = 0.5
    regulon_top_tfs: int = 5
    regulon_min_correlation: float = 0.03
    regulon_min_size: int = 5
    aucell_auc_threshold: float = 0.05
    csn_box_fraction: float = 0.1
    csn_threshold: float = 2.326
    chunk_mb: int = 256
    motif_pvalue: float = 1e-4

    def __post_init__(self) -> None:
        if self.link_correlation_scope not in ("dataset", "cell_type"):
            raise ValueError("link_correlation_scope must be 'dataset' or 'cell_type'")

    @classmethod
    def from_config(cls, cfg: dict | None) -> GrnSettings:
        """Build from the config's `grn` section; workflow-only keys (threads, motif files) are ignored."""
        return dataclass_from_config(cls, cfg)

    def boosting(self) -> GrnBoostSettings:
        return GrnBoostSettings(
            max_trees=self.max_trees, learning_rate=self.learning_rate, max_features=self.max_features,
            subsample=self.subsample, early_stop_window=self.early_stop_window, seed=self.seed,
        )
