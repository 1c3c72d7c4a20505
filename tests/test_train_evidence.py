"""grnlink and the evidence regression on a synthetic split: the pair evidence reaches the
model, the degree offset is fitted on training labels only, and both beat the degree
baseline when the evidence is informative."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from grnlink.grn.evidence import EVIDENCE_GROUPS
from grnlink.settings import Variant
from grnlink.train import data as tdata
from grnlink.train.graph_run import _model_inputs
from grnlink.train.run import run_variant
from test_train_run import N_GENES, N_TFS, evidence_table, fast_run, synthetic_inputs, synthetic_network

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def evidence_inputs():
    return synthetic_inputs()


def test_pair_evidence_holds_quantiles_of_the_columns_the_data_have():
    genes, truth, expr = synthetic_network()
    table = evidence_table(genes, truth, expr)
    evidence = tdata.pair_evidence(table, genes, tuple(EVIDENCE_GROUPS), "e.tsv")
    assert "grn_score_max" not in evidence.columns  # RNA-only: no ATAC columns to read
    assert evidence.columns[0] == EVIDENCE_GROUPS["grnboost2"][0]
    k = evidence.columns.index("abs_r")
    values = evidence.values[:N_TFS, :, k][evidence.covered[:N_TFS]]
    assert values.min() > 0 and values.max() == 1.0
    order = np.argsort(table["abs_r"].to_numpy())
    tf = pd.Index(genes).get_indexer(table["TF"])[order]
    target = pd.Index(genes).get_indexer(table["Target"])[order]
    assert (np.diff(evidence.values[tf, target, k]) >= 0).all()  # quantiles keep the order
    assert not evidence.covered[0, 0] and evidence.covered[0, 1] and not evidence.covered[N_TFS, 0]
    with pytest.raises(Exception, match="e.tsv"):
        evidence.check_covers(np.array([0]), np.array([0]))


def test_the_offset_is_fitted_without_validation_or_test_labels(evidence_inputs):
    run = fast_run(Variant("g", model="grnlink"))
    labels = evidence_inputs.split.loc[evidence_inputs.split["part"] == "train", "label"].to_numpy()
    flipped = evidence_inputs.split.copy()
    held = flipped["part"] != "train"
    flipped.loc[held, "label"] = 1 - flipped.loc[held, "label"]
    first = _model_inputs(evidence_inputs, run, labels)
    second = _model_inputs(replace(evidence_inputs, split=flipped), run, labels)
    tf, target = np.repeat(np.arange(N_TFS), N_GENES), np.tile(np.arange(N_GENES), N_TFS)
    covered = evidence_inputs.evidence.covered[tf, target]
    tf, target = tf[covered], target[covered]
    assert np.array_equal(first.offset.logit(tf, target), second.offset.logit(tf, target))
    assert np.array_equal(first.train.offset.numpy(), second.train.offset.numpy())
    # training rows leave their own label out of the degree counts
    own_out = first.offset.logit(first.train.tf.numpy(), first.train.target.numpy(), labels)
    assert np.allclose(first.train.offset.numpy(), own_out)
    assert not np.allclose(own_out, first.offset.logit(first.train.tf.numpy(), first.train.target.numpy()))


def test_grnlink_starts_from_the_evidence_regression(evidence_inputs):
    """The learned term starts at zero, so before training grnlink scores as evidence_lr."""
    import torch

    from grnlink.train.graph_run import _build
    from grnlink.train.fit import predict

    run = fast_run(Variant("g", model="grnlink"))
    labels = evidence_inputs.split.loc[evidence_inputs.split["part"] == "train", "label"].to_numpy()
    model_inputs = _model_inputs(evidence_inputs, run, labels)
    model = _build(run, evidence_inputs, model_inputs, {})
    validation = model_inputs.validation
    untrained = predict(model, model_inputs.graph, validation.tf, validation.target, validation.offset)
    regression = run_variant(evidence_inputs, fast_run(Variant("m", model="evidence_lr")), 0)
    assert np.allclose(untrained, torch.sigmoid(validation.offset).numpy())
    assert np.allclose(untrained, model_inputs.offset.regression.predict_proba(
        model_inputs.offset.features(validation.tf.numpy(), validation.target.numpy()))[:, 1], atol=1e-6)
    assert regression.metrics.iloc[0]["val_auroc"] > 0.5


@pytest.mark.parametrize("model", ["evidence_lr", "grnlink"])
def test_evidence_models_beat_the_degree_baseline_with_informative_evidence(evidence_inputs, model):
    degree = run_variant(evidence_inputs, fast_run(Variant("d", model="degree")), 0).metrics.iloc[0]
    row = run_variant(evidence_inputs, fast_run(Variant("m", model=model)), 0).metrics.iloc[0]
    assert row["test_auroc"] > degree["test_auroc"] + 0.03
    assert row["test_auroc_per_tf"] > degree["test_auroc_per_tf"] + 0.05


def test_evidence_models_ignore_test_labels(evidence_inputs):
    flipped = evidence_inputs.split.copy()
    test = flipped["part"] == "test"
    flipped.loc[test, "label"] = 1 - flipped.loc[test, "label"]
    for variant in (Variant("m", model="evidence_lr"), Variant("g", model="grnlink")):
        first = run_variant(evidence_inputs, fast_run(variant), 0).test_scores["score"]
        second = run_variant(replace(evidence_inputs, split=flipped), fast_run(variant), 0).test_scores["score"]
        assert np.allclose(first, second)


def test_grnlink_is_reproducible_and_reads_the_inferred_grn(evidence_inputs):
    run = fast_run(Variant("g", model="grnlink", perturbation="coexpression", perturbation_ratio=0.3))
    first = run_variant(evidence_inputs, run, 3)
    again = run_variant(evidence_inputs, run, 3)
    assert first.test_scores["score"].equals(again.test_scores["score"])
    row = first.metrics.iloc[0]
    assert row["grn_edges"] > 0 and row["added_edges"] == round(0.3 * row["graph_edges"])


def test_without_an_evidence_group_its_columns_are_not_read(evidence_inputs):
    genes, truth, expr = synthetic_network()
    table = evidence_table(genes, truth, expr)
    evidence = tdata.pair_evidence(table, genes, ("coexpression",), "e.tsv")
    assert evidence.columns == EVIDENCE_GROUPS["coexpression"]
    assert Variant("g", model="grnlink", evidence=("coexpression",)).label.endswith(
        "w/o ATAC, GRNBoost2, cell-specific GRNs evidence")
    with pytest.raises(ValueError, match="unknown evidence group"):
        Variant("g", model="grnlink", evidence=("motifs",))
