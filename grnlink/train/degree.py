"""The label-only degree baseline: how far node degree alone goes on a split.

A pair (TF, target) is described by two numbers computed from the training pairs only: the
log-odds of the TF's share of positive training pairs and of the target's share of positive
training pairs. A logistic regression on them is fitted to the training labels. On a
training row the shares leave out that row's own label (leave-one-out), so the regression
sees the shares as it will see them on validation and test pairs, where no label of the
pair itself is known. Shares are shrunk towards the overall positive rate of the training
pairs by one pseudo-pair, so a TF or target without training pairs (held-out TFs and
genes) gets the overall rate. Expression is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

PSEUDO_PAIRS = 1.0


def _log_odds(positives: np.ndarray, totals: np.ndarray, prior: float) -> np.ndarray:
    share = (positives + PSEUDO_PAIRS * prior) / (totals + PSEUDO_PAIRS)
    return np.log(share) - np.log1p(-share)


@dataclass(frozen=True)
class DegreeBaseline:
    """Per-gene positive and total training pairs as TF and as target, and the fitted regression."""

    tf_positives: np.ndarray
    tf_totals: np.ndarray
    target_positives: np.ndarray
    target_totals: np.ndarray
    prior: float
    regression: LogisticRegression

    def features(self, tf: np.ndarray, target: np.ndarray, own_label: np.ndarray | None = None) -> np.ndarray:
        """Pairs x 2 log-odds features; `own_label` (training rows) is left out of the counts."""
        tf, target = np.asarray(tf), np.asarray(target)
        own = np.zeros(len(tf)) if own_label is None else np.asarray(own_label, dtype=float)
        seen = 0.0 if own_label is None else 1.0
        return np.column_stack([
            _log_odds(self.tf_positives[tf] - own, self.tf_totals[tf] - seen, self.prior),
            _log_odds(self.target_positives[target] - own, self.target_totals[target] - seen, self.prior),
        ])

    def score(self, tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        """P(edge) of pairs that are not training rows."""
        return self.regression.predict_proba(self.features(tf, target))[:, 1]

    def logit(self, tf: np.ndarray, target: np.ndarray, own_label: np.ndarray | None = None) -> np.ndarray:
        """The regression's log-odds of pairs; `own_label` as in `features` (training rows)."""
        return self.regression.decision_function(self.features(tf, target, own_label))


def fit_degree_baseline(tf: np.ndarray, target: np.ndarray, label: np.ndarray, n_genes: int) -> DegreeBaseline:
    """Fit on the training pairs (gene indices `tf`, `target` below `n_genes`) and their labels."""
    tf, target, label = np.asarray(tf), np.asarray(target), np.asarray(label, dtype=float)
    if len(np.unique(label)) < 2:
        raise ValueError("the degree baseline needs positive and negative training pairs")
    counts = {
        name: (np.bincount(index, weights=label, minlength=n_genes), np.bincount(index, minlength=n_genes).astype(float))
        for name, index in (("tf", tf), ("target", target))
    }
    unfitted = DegreeBaseline(*counts["tf"], *counts["target"], prior=float(label.mean()),
                              regression=LogisticRegression())
    regression = LogisticRegression().fit(unfitted.features(tf, target, own_label=label), label.astype(int))
    return DegreeBaseline(*counts["tf"], *counts["target"], prior=unfitted.prior, regression=regression)
