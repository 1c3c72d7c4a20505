"""Ranking metrics: pooled, within TFs, early precision; and the label-only degree baseline."""

import numpy as np
import pytest

from grnlink import dataset
from grnlink.genelink import read_genelink
from grnlink.split import protocol_split
from grnlink.train.data import index_split
from grnlink.train.degree import fit_degree_baseline
from grnlink.train.metrics import auroc, early_precision_ratio, per_tf_mean, ranking_metrics

from conftest import ROOT


def test_per_tf_auroc_equals_a_hand_computation():
    # TF a: positives 0.9, 0.4; negatives 0.5, 0.1 -> pairs (pos > neg): 0.9>0.5, 0.9>0.1, 0.4>0.1 = 3 of 4
    # TF b: positive 0.2; negatives 0.3, 0.1 -> 1 of 2
    # TF c: only negatives -> left out
    tfs = np.array(["a", "a", "a", "a", "b", "b", "b", "c"])
    labels = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.4, 0.5, 0.1, 0.2, 0.3, 0.1, 0.99])
    assert per_tf_mean(auroc, tfs, labels, scores) == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert ranking_metrics(tfs, labels, scores)["auroc_per_tf"] == pytest.approx(0.625)
    assert np.isnan(per_tf_mean(auroc, tfs[-1:], labels[-1:], scores[-1:]))


def test_auroc_counts_ties_as_halves_as_scikit_learn_does():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    labels = (rng.random(500) < 0.2).astype(float)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # many ties across the classes
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auroc([1, 0], [0.5, 0.5]) == 0.5 and auroc([0, 1], [0.2, 0.7]) == 1.0
    assert np.isnan(auroc([1, 1], [0.2, 0.7])) and np.isnan(auroc([0, 0], [0.2, 0.7]))


def test_per_tf_auroc_ignores_what_separates_tfs():
    """Adding a constant per TF changes the pooled AUROC, never the per-TF one."""
    rng = np.random.default_rng(0)
    tfs = np.repeat(np.arange(5), 40)
    labels = (rng.random(200) < 0.3).astype(int)
    scores = rng.random(200) + labels * 0.3
    shifted = scores + tfs * 10.0
    assert per_tf_mean(auroc, tfs, labels, shifted) == pytest.approx(per_tf_mean(auroc, tfs, labels, scores))
    assert auroc(labels, shifted) != pytest.approx(auroc(labels, scores))


def test_early_precision_ratio_by_hand():
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0])  # k = 2, positive rate 1/4
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.0, 0.0, 0.0])  # top 2: one positive -> precision 1/2
    assert early_precision_ratio(labels, scores) == pytest.approx(0.5 / 0.25)
    assert early_precision_ratio(labels, -scores * 0 + labels) == pytest.approx(4.0)  # perfect ranking: 1 / rate
    assert np.isnan(early_precision_ratio(np.zeros(3), np.arange(3)))


def test_degree_features_leave_each_training_row_out():
    # gene 0 is a TF with 3 training pairs (labels 1, 1, 0) to targets 1, 2, 3
    tf, target, label = np.array([0, 0, 0, 4]), np.array([1, 2, 3, 3]), np.array([1, 1, 0, 0])
    model = fit_degree_baseline(tf, target, label, n_genes=5)
    prior = 0.5
    assert model.prior == pytest.approx(prior)
    features = model.features(tf, target, own_label=label)
    # row 0: TF 0 without its own label has 1 positive of 2 -> (1 + 0.5) / (2 + 1)
    expected = np.log(1.5 / 3) - np.log(1.5 / 3)  # share 0.5 -> log-odds 0
    assert features[0, 0] == pytest.approx(expected)
    # row 2 (label 0): 2 positives of 2 -> (2 + 0.5) / 3
    assert features[2, 0] == pytest.approx(np.log(2.5 / 3) - np.log(0.5 / 3))
    # an unseen TF (gene 1 never regulates) scores at the prior's log-odds
    assert model.features(np.array([1]), np.array([2]))[0, 0] == pytest.approx(0.0)


@pytest.mark.parametrize("name, published", [("hHEP", 0.90), ("mDC", 0.82), ("mHSC-L", 0.86)])
def test_degree_baseline_reproduces_the_label_only_auroc_on_beeline(name, published):
    """The label-only baseline reaches the published scRegNet range on GENELink's split
    (issue figures: hHEP .90, mDC .82, mHSC-L .86 AUROC), within 0.02 over 3 seeds."""
    rna = read_genelink(ROOT / "resources" / "beeline" / name / "TFs+500", name)
    genes, network, tfs = dataset.benchmark_genes(rna), dataset.training_network(rna), dataset.benchmark_tfs(rna)
    values = []
    for seed in range(3):
        split = index_split(protocol_split("genelink", genes, network, seed, tfs=tfs), genes)
        train, test = split[split["part"] == "train"], split[split["part"] == "test"]
        model = fit_degree_baseline(train["tf"].to_numpy(), train["target"].to_numpy(), train["label"].to_numpy(),
                                    len(genes))
        values.append(auroc(test["label"], model.score(test["tf"].to_numpy(), test["target"].to_numpy())))
    assert np.mean(values) == pytest.approx(published, abs=0.02)


def test_degree_baseline_needs_both_classes():
    with pytest.raises(ValueError, match="positive and negative"):
        fit_degree_baseline(np.array([0, 1]), np.array([1, 0]), np.array([1, 1]), n_genes=2)
