"""The evidence baseline: the simplest model of grnlink's inputs without expression
features or graphs. A logistic regression on the degree baseline's two features (the
TF's and the target's share of positive training pairs, leave-one-out on training rows)
and the pair's evidence columns (grnlink.train.data.PairEvidence quantiles), fitted to the
training labels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from grnlink.train.data import PairEvidence
from grnlink.train.degree import DegreeBaseline, fit_degree_baseline


@dataclass(frozen=True)
class EvidenceRegression:
    degree: DegreeBaseline
    evidence: PairEvidence
    regression: LogisticRegression

    def features(self, tf: np.ndarray, target: np.ndarray, own_label: np.ndarray | None = None) -> np.ndarray:
        return np.column_stack([self.degree.features(tf, target, own_label), self.evidence.values[tf, target]])

    def score(self, tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        """P(edge) of pairs that are not training rows."""
        self.evidence.check_covers(tf, target)
        return self.regression.predict_proba(self.features(tf, target))[:, 1]

    def logit(self, tf: np.ndarray, target: np.ndarray, own_label: np.ndarray | None = None) -> np.ndarray:
        """The regression's log-odds of pairs; `own_label`: training rows (their degree
        features leave their own label out)."""
        self.evidence.check_covers(tf, target)
        return self.regression.decision_function(self.features(tf, target, own_label))


def fit_evidence_regression(tf: np.ndarray, target: np.ndarray, label: np.ndarray, n_genes: int,
                            evidence: PairEvidence) -> EvidenceRegression:
    """Fit on the training pairs (gene indices below `n_genes`) and their labels."""
    tf, target, label = np.asarray(tf), np.asarray(target), np.asarray(label)
    evidence.check_covers(tf, target)
    degree = fit_degree_baseline(tf, target, label, n_genes)
    unfitted = EvidenceRegression(degree, evidence, LogisticRegression(max_iter=1000))
    regression = unfitted.regression.fit(unfitted.features(tf, target, own_label=label), label.astype(int))
    return EvidenceRegression(degree, evidence, regression)
