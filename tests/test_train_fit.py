"""Withholding training positives from the GNN's graph (edge hold-out); the learning rate
decays after every optimisation step; GENELink learns through the trainer."""

import logging

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from grnlink.settings import FitOptions, TrainSettings
from grnlink.train.build import build_model
from grnlink.train.fit import EdgeHoldOut, EdgeSwap, GraphInputs, LabelledPairs, epoch_view, fit, predict
from grnlink.train.graphs import undirected_graph
from grnlink.train.metrics import auroc
from grnlink.train.models import GENELink


def _training_data():
    tf = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    target = torch.tensor([4, 5, 4, 6, 5, 7, 6, 7])
    label = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0], dtype=torch.float32)
    positive = label == 1
    training_graph = undirected_graph(tf[positive].numpy(), target[positive].numpy(), 8)
    extra = undirected_graph([0], [1], 8)  # an edge perturbation link, never a training pair
    graph = torch.cat([training_graph, extra], dim=1)
    return GraphInputs(torch.zeros(8, 3), graph, None), LabelledPairs(tf, target, label)


def hold_out_edges(inputs, pairs, fraction, generator):
    return EdgeHoldOut.of(inputs, pairs, fraction).draw(inputs, pairs, generator)


def _edges(edge_index):
    return {tuple(e) for e in edge_index.t().tolist()}


def test_withheld_positives_leave_the_graph_in_both_directions_and_carry_the_loss():
    inputs, pairs = _training_data()
    view, supervised = hold_out_edges(inputs, pairs, 0.5, torch.Generator().manual_seed(5))
    held = {(int(a), int(b)) for a, b, y in zip(supervised.tf, supervised.target, supervised.label) if y == 1}
    assert 0 < len(held) < 4
    for a, b in held:
        assert (a, b) not in _edges(view.edge_index) and (b, a) not in _edges(view.edge_index)
    kept = {(int(a), int(b)) for a, b, y in zip(pairs.tf, pairs.target, pairs.label) if y == 1} - held
    for a, b in kept:
        assert (a, b) in _edges(view.edge_index) and (b, a) in _edges(view.edge_index)
    assert {(0, 1), (1, 0)} <= _edges(view.edge_index)
    assert int((supervised.label == 0).sum()) == 4  # every negative stays in the loss


def test_hold_out_is_reproducible_for_a_seed_and_empty_at_zero():
    inputs, pairs = _training_data()
    first = hold_out_edges(inputs, pairs, 0.5, torch.Generator().manual_seed(5))
    again = hold_out_edges(inputs, pairs, 0.5, torch.Generator().manual_seed(5))
    assert torch.equal(first[0].edge_index, again[0].edge_index)
    assert torch.equal(first[1].tf, again[1].tf)
    view, supervised = hold_out_edges(inputs, pairs, 0.0, torch.Generator().manual_seed(5))
    assert torch.equal(view.edge_index, inputs.edge_index) and int(supervised.label.sum()) == 0


def test_a_withheld_pair_takes_its_edge_along_when_the_reverse_pair_is_a_positive_too():
    """TF 0 -> 1 and TF 1 -> 0 are both positive training pairs and share one edge: whichever
    of them is withheld, the edge leaves the graph; with neither withheld it stays."""
    tf, target = torch.tensor([0, 1, 2]), torch.tensor([1, 0, 3])
    pairs = LabelledPairs(tf, target, torch.ones(3))
    inputs = GraphInputs(torch.zeros(4, 1), undirected_graph(tf.numpy(), target.numpy(), 4), None)
    hold_out = EdgeHoldOut.of(inputs, pairs, 0.5)
    outcomes = set()
    for seed in range(40):
        view, supervised = hold_out.draw(inputs, pairs, torch.Generator().manual_seed(seed))
        held = {(int(a), int(b)) for a, b in zip(supervised.tf, supervised.target)}
        mutual_held = bool(held & {(0, 1), (1, 0)})
        assert ((0, 1) in _edges(view.edge_index)) is not mutual_held
        assert ((1, 0) in _edges(view.edge_index)) is not mutual_held
        assert ((2, 3) in _edges(view.edge_index)) is ((2, 3) not in held)
        outcomes.add((len(held & {(0, 1), (1, 0)}), (2, 3) in held))
    assert {(0, False), (1, True), (2, False)} <= outcomes  # every case was drawn


def _swap_inputs(fraction=0.5):
    """A 12-edge ring over 12 genes and a pool of 12 chords (one direction each)."""
    ring = undirected_graph(np.arange(12), (np.arange(12) + 1) % 12, 12)
    pool = torch.tensor([[i for i in range(6)] * 2, [i + 6 for i in range(6)] + [(i + 3) % 12 for i in range(6)]])
    pool = torch.stack([pool.min(0).values, pool.max(0).values])
    return GraphInputs(torch.zeros(12, 2), ring, None, swap=EdgeSwap(pool, fraction))


def _one_epoch_graph(inputs, generator):
    pairs = LabelledPairs(torch.tensor([0]), torch.tensor([5]), torch.tensor([0.0]))
    return epoch_view(inputs, pairs, None, generator)[0].edge_index


def test_edge_swap_draws_other_edges_each_epoch_and_the_same_for_a_seed():
    inputs = _swap_inputs()
    ring, pool = _edges(inputs.edge_index), {tuple(p) for p in inputs.swap.pool.t().tolist()}
    generator = torch.Generator().manual_seed(7)
    first, second = _one_epoch_graph(inputs, generator), _one_epoch_graph(inputs, generator)
    for graph in (first, second):
        edges = _edges(graph)
        assert len(edges) == 24 and edges == {(b, a) for a, b in edges}  # same size, undirected
        swapped_in = {e for e in edges if e[0] < e[1]} - ring
        assert len(swapped_in) == 6 and swapped_in <= pool  # half the edges, from the pool
    assert _edges(first) != _edges(second)
    again = torch.Generator().manual_seed(7)
    assert torch.equal(_one_epoch_graph(inputs, again), first)
    assert torch.equal(_one_epoch_graph(inputs, again), second)


def test_the_trainer_adds_each_pairs_offset_to_the_model_logit():
    inputs, pairs = _training_data()
    model = torch.nn.Module()
    model.node_representations = lambda x, graph, embedding: x  # noqa: E731
    model.score = lambda z, tf, target: tf.float()  # noqa: E731 - a known logit
    offset = torch.arange(8, dtype=torch.float32) / 10
    with_offset = LabelledPairs(pairs.tf, pairs.target, pairs.label, offset)
    index = torch.tensor([1, 4])
    graph = inputs.edge_index
    assert torch.allclose(with_offset.logits(model, inputs, graph, index), pairs.tf[index].float() + offset[index])
    assert torch.allclose(with_offset.subset(index).offset, offset[index])


def _toy_problem(n_genes=120, n_tfs=10, n_features=16, seed=0):
    """TFs 0..n_tfs-1 regulate exactly the targets of group 1; the features tell the groups apart."""
    g = torch.Generator().manual_seed(seed)
    group = torch.rand(n_genes, generator=g) < 0.5
    x = 0.5 * torch.randn(n_genes, n_features, generator=g)
    x[:, :4] += 2.0 * group.unsqueeze(1)
    tf = torch.arange(n_tfs).repeat_interleave(n_genes - n_tfs)
    target = torch.arange(n_tfs, n_genes).repeat(n_tfs)
    label = group[target].float()
    order = torch.randperm(len(tf), generator=g)
    train, validation = order[:880], order[880:]
    pairs = LabelledPairs(tf[train], target[train], label[train])
    positive = pairs.label == 1
    graph = undirected_graph(pairs.tf[positive].numpy(), pairs.target[positive].numpy(), n_genes)
    return GraphInputs(x, graph, None), pairs, LabelledPairs(tf[validation], target[validation], label[validation])


class _LearningRates:
    """The learning rate of every optimisation step, read after the step (before the scheduler's)."""

    def __enter__(self):
        self.rates = []
        self.handle = register_optimizer_step_post_hook(
            lambda optimizer, args, kwargs: self.rates.append(optimizer.param_groups[0]["lr"]))
        return self.rates

    def __exit__(self, *exc):
        self.handle.remove()


@pytest.mark.usefixtures("one_torch_thread")
def test_learning_rate_decays_after_every_step_not_every_epoch():
    inputs, train, validation = _toy_problem()
    torch.manual_seed(0)
    model = GENELink(inputs.x.shape[1], hidden=(8, 8, 8), output=4)
    options = FitOptions(epochs=3, patience=100, batch_size=256, lr=3e-3, lr_decay=0.99, weight_decay=1e-5,
                         edge_holdout=0.0)
    with _LearningRates() as rates:
        result = fit(model, inputs, train, validation, options, seed=0)
    assert result.epochs == 3
    steps = 3 * int(np.ceil(len(train.label) / 256))  # 880 pairs: 4 batches per epoch
    assert rates == pytest.approx([3e-3 * 0.99 ** k for k in range(steps)], rel=1e-9)


@pytest.mark.usefixtures("one_torch_thread")
def test_a_full_batch_fit_still_decays_once_per_epoch():
    inputs, train, validation = _toy_problem()
    torch.manual_seed(0)
    run = TrainSettings(hidden=8, mlp_hidden=8).variant_run("scregnet_no_embedding", protocol="genelink")
    model = build_model(run, n_features=inputs.x.shape[1], embedding_dim=0)
    options = FitOptions(epochs=3, patience=100, batch_size=65536, lr=1e-2, lr_decay=0.9, weight_decay=1e-5,
                         edge_holdout=0.0)
    with _LearningRates() as rates:
        fit(model, inputs, train, validation, options, seed=0)
    assert rates == pytest.approx([1e-2, 1e-2 * 0.9, 1e-2 * 0.81], rel=1e-9)


@pytest.mark.usefixtures("one_torch_thread")
def test_genelink_learns_a_separable_toy_problem_with_the_published_training(caplog):
    inputs, train, validation = _toy_problem()
    torch.manual_seed(0)
    model = GENELink(inputs.x.shape[1])
    options = TrainSettings(edge_holdout=0.0).genelink_fit_options()  # 20 epochs, batches of 256, lr 3e-3 * 0.99^step
    with caplog.at_level(logging.DEBUG, logger="grnlink.train.fit"):
        result = fit(model, inputs, train, validation, options, seed=0)
    losses = [float(r.getMessage().split()[3]) for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(losses) == 20 and result.epochs == 20
    assert losses[0] > 0.6 and losses[-1] < 0.5 * losses[0]  # training loss (dropout on) per epoch
    assert result.val_auroc > 0.95
    assert auroc(validation.label.numpy(), predict(result.model, inputs, validation.tf, validation.target)) > 0.95
