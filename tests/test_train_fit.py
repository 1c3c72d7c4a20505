"""Withholding training positives from the GNN's graph (edge hold-out)."""

import torch

from grnlink.train.data import undirected_graph
from grnlink.train.fit import GraphInputs, LabelledPairs, hold_out_edges


def _training_data():
    tf = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    target = torch.tensor([4, 5, 4, 6, 5, 7, 6, 7])
    label = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0], dtype=torch.float32)
    positive = label == 1
    training_graph = undirected_graph(tf[positive].numpy(), target[positive].numpy(), 8)
    extra = undirected_graph([0], [1], 8)  # an edge perturbation link, never a training pair
    graph = torch.cat([training_graph, extra], dim=1)
    return GraphInputs(torch.zeros(8, 3), graph, None), LabelledPairs(tf, target, label)


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
