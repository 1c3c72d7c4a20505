"""Link predictors composed from parts: the builder composes the parts a variant names;
scRegNet (encoders and ablations) and GENELink produce one logit per pair and use what they
should: the graph, the embedding, or both. GENELink's graph attention follows the published
layer (Chen and Liu 2022)."""

import pytest
import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from grnlink.settings import TrainSettings, Variant
from grnlink.train.build import build_model
from grnlink.train.graphs import undirected_graph
from grnlink.train.models import (
    ConcatFusion,
    CrossAttentionFusion,
    Dropout,
    EvidencePairScorer,
    GENELink,
    GNNEncoder,
    GraphAttention,
    GraphAttentionEncoder,
    LinkPredictor,
    NoGraphEncoder,
    PairClassifier,
    RelationalGNNEncoder,
    SymmetricAdjacency,
    TfTargetDotProduct,
    AttentionGraph,
    _dropout_scale,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


N_GENES, N_FEATURES, EMB_DIM = 12, 9, 5
SMALL = {"hidden": 8, "mlp_hidden": 6, "heads": 2, "attention_width": 8, "attention_heads": 2}


@pytest.fixture
def inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_GENES, N_FEATURES, generator=g)
    embedding = torch.randn(N_GENES, EMB_DIM, generator=g)
    ring = torch.tensor([[i for i in range(N_GENES)] + [(i + 1) % N_GENES for i in range(N_GENES)],
                         [(i + 1) % N_GENES for i in range(N_GENES)] + [i for i in range(N_GENES)]])
    tf, target = torch.tensor([0, 1, 2, 3]), torch.tensor([5, 6, 7, 8])
    return x, embedding, ring, tf, target


# The inferred GRN of the tests: a star around gene 0, both directions.
STAR = torch.tensor([[0] * (N_GENES - 1) + list(range(1, N_GENES)), list(range(1, N_GENES)) + [0] * (N_GENES - 1)])
N_EVIDENCE = 3


def _built(variant: Variant, coexpression=None, overrides=None, evidence=None, **sizes) -> LinkPredictor:
    """`variant`'s network from the builder, small (embedding EMB_DIM wide when it reads one,
    the STAR graph as inferred GRN, random evidence unless given)."""
    run = TrainSettings(variants=(variant,), **{**SMALL, **sizes}).variant_run(variant.name, protocol="genelink")
    if evidence is None:
        evidence = torch.rand(N_GENES, N_GENES, N_EVIDENCE, generator=torch.Generator().manual_seed(3))
    return build_model(run, n_features=N_FEATURES, embedding_dim=EMB_DIM if variant.uses_embedding else 0,
                       coexpression=coexpression, grn_edges=STAR, evidence=evidence, overrides=overrides)


@pytest.mark.parametrize(("variant", "conv"), [
    (Variant("scregnet"), GCNConv),
    (Variant("sage", encoder="sage"), SAGEConv),
    (Variant("gat", encoder="gat"), GATConv),
])
def test_the_builder_composes_the_gnn_the_variant_names(variant, conv):
    model = _built(variant)
    assert isinstance(model.encoder, GNNEncoder) and len(model.encoder.convs) == 2
    assert all(isinstance(layer, conv) for layer in model.encoder.convs)
    assert isinstance(model.fusion, ConcatFusion) and model.fusion.out_dim == EMB_DIM + 8
    assert isinstance(model.scorer, PairClassifier) and model.scorer.coexpression is None
    assert isinstance(model.scorer.classifier[-1], nn.Linear) and len(model.scorer.classifier[0]) == 0


def test_the_builder_composes_the_ablations_and_extensions(inputs):
    x = inputs[0]
    no_gnn = _built(Variant("no_gnn", encoder="none"))
    assert isinstance(no_gnn.encoder, NoGraphEncoder) and no_gnn.fusion.out_dim == EMB_DIM
    no_embedding = _built(Variant("no_embedding", embedding=False))
    assert isinstance(no_embedding.fusion, ConcatFusion) and no_embedding.fusion.out_dim == 8
    cross = _built(Variant("cross", fusion="cross_attention"))
    assert isinstance(cross.fusion, CrossAttentionFusion) and cross.fusion.out_dim == 8
    assert cross.fusion.query.in_features == EMB_DIM and cross.fusion.key.in_features == 8
    pair = _built(Variant("pair", pair_coexpression=True, classifier_layers=1), coexpression=torch.corrcoef(x))
    assert pair.scorer.coexpression is not None and isinstance(pair.scorer.classifier[0][0], nn.Linear)
    assert pair.scorer.classifier[0][0].in_features == 2 * 6 + 2


def test_the_builder_builds_genelink_as_published():
    model = _built(Variant("genelink", model="genelink"))
    assert isinstance(model, GENELink)
    assert isinstance(model.encoder, GraphAttentionEncoder) and isinstance(model.scorer, TfTargetDotProduct)
    assert model.encoder.layer1.weight.shape == (3, N_FEATURES, 128)


def test_the_builder_applies_tuned_sizes():
    model = _built(Variant("scregnet"), overrides={"hidden": 12, "gnn_layers": 3, "mlp_layers": 1, "mlp_hidden": 4})
    assert len(model.encoder.convs) == 3 and model.encoder.out_dim == 12
    assert [m.out_features for m in model.scorer.mlp if isinstance(m, nn.Linear)] == [4]


def test_the_builder_needs_what_the_variant_reads():
    with pytest.raises(ValueError, match="co-expression"):
        _built(Variant("pair", pair_coexpression=True))
    run = TrainSettings(**SMALL).variant_run("scregnet", protocol="genelink")
    with pytest.raises(ValueError, match="embedding"):
        build_model(run, n_features=N_FEATURES, embedding_dim=0)


def test_parts_of_different_models_compose(inputs):
    x, embedding, ring, tf, target = inputs
    torch.manual_seed(0)
    scorer = TfTargetDotProduct(EMB_DIM, hidden=4, output=3, dropout=0.0)
    model = LinkPredictor(NoGraphEncoder(), ConcatFusion(EMB_DIM, 0), scorer).eval()
    expected = (scorer.tf_head(embedding)[tf] * scorer.target_head(embedding)[target]).sum(dim=1)
    assert torch.allclose(model(x, ring, embedding, tf, target), expected)


@pytest.mark.parametrize("encoder", ["gcn", "sage", "gat"])
def test_scregnet_gives_one_logit_per_pair_and_uses_the_graph(inputs, encoder):
    x, embedding, ring, tf, target = inputs
    torch.manual_seed(0)
    model = _built(Variant("v", encoder=encoder)).eval()
    out = model(x, ring, embedding, tf, target)
    assert out.shape == (4,)
    no_edges = torch.empty((2, 0), dtype=torch.long)
    assert not torch.allclose(out, model(x, no_edges, embedding, tf, target))


def test_scregnet_without_gnn_ignores_graph_and_features(inputs):
    x, embedding, ring, tf, target = inputs
    model = _built(Variant("no_gnn", encoder="none")).eval()
    assert torch.equal(model(x, ring, embedding, tf, target),
                       model(torch.zeros_like(x), torch.empty((2, 0), dtype=torch.long), embedding, tf, target))


def test_scregnet_without_embedding_and_with_it(inputs):
    x, embedding, ring, tf, target = inputs
    no_embedding = _built(Variant("no_embedding", embedding=False)).eval()
    assert no_embedding(x, ring, None, tf, target).shape == (4,)
    with_embedding = _built(Variant("scregnet")).eval()
    assert not torch.allclose(with_embedding(x, ring, embedding, tf, target),
                              with_embedding(x, ring, torch.zeros_like(embedding), tf, target))


def test_concatenation_needs_gnn_or_embedding():
    with pytest.raises(ValueError, match="GNN, the embedding or both"):
        ConcatFusion(0, NoGraphEncoder.out_dim)


def test_dropout_is_off_in_evaluation(inputs):
    x, embedding, ring, tf, target = inputs
    model = _built(Variant("scregnet"), dropout=0.5).eval()
    assert torch.equal(model(x, ring, embedding, tf, target), model(x, ring, embedding, tf, target))


def test_genelink_scores_pairs_by_direction(inputs):
    x, _, ring, tf, target = inputs
    torch.manual_seed(0)
    model = GENELink(N_FEATURES).eval()
    forward, backward = model(x, ring, None, tf, target), model(x, ring, None, target, tf)
    assert forward.shape == (4,)
    assert not torch.allclose(forward, backward)  # separate TF and target heads: direction matters
    z = model.node_representations(x, model.prepare_graph(ring, N_GENES))
    assert z.shape == (N_GENES, 64)
    heads = model.scorer
    assert torch.allclose(forward, (heads.tf_head(z)[tf] * heads.target_head(z)[target]).sum(dim=1))


def test_genelink_has_the_published_shapes_and_initialisation():
    torch.manual_seed(0)
    model = GENELink(N_FEATURES)
    layer1, layer2, tf_head = model.encoder.layer1, model.encoder.layer2, model.scorer.tf_head
    assert layer1.weight.shape == (3, N_FEATURES, 128) and layer1.attention_vector.shape == (3, 256, 1)
    assert layer2.weight.shape == (3, 384, 64) and layer2.bias.shape == (3, 64)
    assert [m.weight.shape for m in tf_head if isinstance(m, nn.Linear)] == [(32, 64), (16, 32)]
    assert torch.equal(layer1.bias, torch.zeros(3, 128))
    bound = 1.414 * (6 / (N_FEATURES + 128)) ** 0.5  # xavier uniform, gain 1.414, per head
    assert layer1.weight.abs().max() <= bound and layer1.weight.abs().max() > 0.9 * bound
    head_bound = 1.414 * (6 / (64 + 32)) ** 0.5
    assert head_bound >= tf_head[0].weight.abs().max() > 0.9 * head_bound
    assert tf_head[1].negative_slope == 0.01 and tf_head[2].p == 0.01


def _dense_mask(edge_index, n_nodes):
    """The published layer's mask: entry [i, j] is True when the graph has the edge j -> i."""
    mask = torch.zeros(n_nodes, n_nodes, dtype=torch.bool)
    mask[edge_index[1], edge_index[0]] = True
    return mask


def _dense_head_outputs(layer, x, mask):
    """The published layer's dense n x n computation (-9e15 off the edges), dropout included."""
    h = torch.matmul(x.unsqueeze(0), layer.weight)
    own = torch.matmul(h, layer.attention_vector[:, :layer.n_out])
    other = torch.matmul(h, layer.attention_vector[:, layer.n_out:])
    logits = nn.functional.leaky_relu(own + other.transpose(1, 2), negative_slope=layer.alpha)
    weights = torch.softmax(logits.masked_fill(~mask, -9e15), dim=2)
    if layer.training:
        weights = weights * _dropout_scale(weights, layer.dropout)
    out = nn.functional.leaky_relu(torch.matmul(weights, h), negative_slope=layer.alpha)
    return nn.functional.normalize(out, p=2, dim=2) + layer.bias.unsqueeze(1)


def test_edge_attention_is_the_dense_published_layer_with_the_same_dropout(inputs):
    """Weights on the edges only, dropout factors drawn for the whole matrix: the same
    outputs and gradients as the dense layer for the same seed, in training too, with a
    node that has no edge (it attends uniformly over all nodes)."""
    x = inputs[0]
    others = torch.arange(1, N_GENES)
    edges = torch.stack([torch.cat([others, others.roll(1)]), torch.cat([others.roll(1), others])])
    torch.manual_seed(0)
    layer = GraphAttention(N_FEATURES, 4, heads=3, dropout=0.5)
    graph, mask = AttentionGraph.of(edges, N_GENES), _dense_mask(edges, N_GENES)
    for mode in (layer.eval, layer.train):
        mode()
        torch.manual_seed(7)
        sparse = layer.head_outputs(x, graph)
        torch.manual_seed(7)
        dense = _dense_head_outputs(layer, x, mask)
        assert torch.allclose(sparse, dense, atol=1e-6)
        grads = [torch.autograd.grad(out.sum(), layer.weight)[0] for out in (sparse, dense)]
        assert torch.allclose(*grads, atol=1e-5)
    assert not torch.allclose(layer.eval().head_outputs(x, graph), sparse)  # dropout dropped something


def _reference_head(layer, head, x, mask):
    """One head of the published layer, written out node by node."""
    weight, a, n_out = layer.weight[head], layer.attention_vector[head, :, 0], layer.n_out
    h = x @ weight
    rows = []
    for i in range(x.shape[0]):
        neighbours = [j for j in range(x.shape[0]) if mask[i, j]]
        if neighbours:
            weights = torch.softmax(torch.stack([nn.functional.leaky_relu(h[i] @ a[:n_out] + h[j] @ a[n_out:], 0.2)
                                                 for j in neighbours]), 0)
        else:  # every logit masked alike: uniform over all nodes
            neighbours, weights = list(range(x.shape[0])), torch.full((x.shape[0],), 1 / x.shape[0])
        out = nn.functional.leaky_relu((weights.unsqueeze(1) * h[neighbours]).sum(0), 0.2)
        rows.append(out / out.norm() + layer.bias[head])
    return torch.stack(rows)


def test_graph_attention_follows_the_published_formula(inputs):
    x = inputs[0]
    torch.manual_seed(0)
    layer = GraphAttention(N_FEATURES, 4, heads=2).eval()
    with torch.no_grad():
        layer.bias.normal_()
    chain = torch.tensor([[1, 2, 3, 4, 2], [0, 1, 2, 3, 0]])  # directed: node 0 attends to 1 and 2
    mask = _dense_mask(chain, N_GENES)
    assert mask[0, 1] and mask[0, 2] and not mask[1, 0] and not mask.diagonal().any()
    with torch.no_grad():
        outputs = layer.head_outputs(x, AttentionGraph.of(chain, N_GENES))
        for head in range(2):
            assert torch.allclose(outputs[head], _reference_head(layer, head, x, mask), atol=1e-5)


def test_attention_rows_sum_to_one_over_the_neighbours_only(inputs):
    x, _, ring, _, _ = inputs
    layer = GraphAttention(N_FEATURES, 5, heads=3).eval()
    mask = _dense_mask(ring, N_GENES)
    weights = layer.attention(x, AttentionGraph.of(ring, N_GENES))
    assert weights.shape == (3, N_GENES, N_GENES)
    assert torch.equal(weights[:, ~mask], torch.zeros_like(weights[:, ~mask]))
    assert torch.allclose(weights.sum(dim=2), torch.ones(3, N_GENES))
    assert (weights[:, mask] > 0).all() and not torch.allclose(weights[:, mask], torch.full_like(weights[:, mask], 0.5))


def test_a_node_without_edges_attends_uniformly_over_all_nodes(inputs):
    x = inputs[0]
    others = torch.arange(1, N_GENES)
    edges = torch.stack([torch.cat([others, others.roll(1)]), torch.cat([others.roll(1), others])])
    layer = GraphAttention(N_FEATURES, 5, heads=2).eval()
    weights = layer.attention(x, AttentionGraph.of(edges, N_GENES))
    assert torch.allclose(weights[:, 0], torch.full((2, N_GENES), 1 / N_GENES))
    assert torch.equal(weights[:, 1:, 0], torch.zeros(2, N_GENES - 1))  # nobody attends to it


def test_layer_one_concatenates_heads_and_layer_two_averages_them(inputs):
    x, _, ring, _, _ = inputs
    torch.manual_seed(0)
    model = GENELink(N_FEATURES, hidden=(6, 5, 4), output=3, heads=(3, 2)).eval()
    graph = AttentionGraph.of(ring, N_GENES)
    layer1, layer2 = model.encoder.layer1, model.encoder.layer2
    first = layer1(x, graph)
    assert first.shape == (N_GENES, 18)
    assert torch.allclose(first, torch.cat(list(layer1.head_outputs(x, graph)), dim=1))
    hidden = nn.functional.elu(first)
    second = layer2.head_outputs(hidden, graph)
    assert second.shape == (2, N_GENES, 5)
    z = model.node_representations(x, model.prepare_graph(ring, N_GENES))
    assert z.shape == (N_GENES, 5)
    assert torch.allclose(z, (second[0] + second[1]) / 2)
    assert not torch.allclose(second[0], second[1])


def test_each_head_is_an_independent_single_head_layer(inputs):
    x, _, ring, _, _ = inputs
    torch.manual_seed(0)
    layer = GraphAttention(N_FEATURES, 4, heads=3).eval()
    graph = AttentionGraph.of(ring, N_GENES)
    for head in range(3):
        single = GraphAttention(N_FEATURES, 4, heads=1).eval()
        with torch.no_grad():
            for name in ("weight", "attention_vector", "bias"):
                getattr(single, name).copy_(getattr(layer, name)[head:head + 1])
        assert torch.allclose(single(x, graph), layer(x, graph)[:, 4 * head:4 * (head + 1)], atol=1e-6)


def test_layer_outputs_minus_bias_have_unit_norm(inputs):
    x, _, ring, _, _ = inputs
    layer = GraphAttention(N_FEATURES, 7, heads=3)
    with torch.no_grad():
        layer.bias.normal_()
    graph = AttentionGraph.of(ring, N_GENES)
    norms = (layer.eval().head_outputs(x, graph) - layer.bias.unsqueeze(1)).norm(dim=2)
    assert torch.allclose(norms, torch.ones(3, N_GENES), atol=1e-5)
    torch.manual_seed(0)  # in training, dropout may drop all of a node's attention: a zero row, not normalised
    norms = (layer.train().head_outputs(x, graph) - layer.bias.unsqueeze(1)).norm(dim=2)
    unit = (norms - 1).abs() < 1e-5
    assert unit.sum() > N_GENES and torch.equal(norms[~unit], torch.zeros_like(norms[~unit]))


def test_genelink_is_deterministic_in_evaluation_and_drops_attention_in_training(inputs):
    x, _, ring, tf, target = inputs
    torch.manual_seed(0)
    model = GENELink(N_FEATURES).eval()
    assert torch.equal(model(x, ring, None, tf, target), model(x, ring, None, tf, target))
    model.train()
    assert not torch.allclose(model(x, ring, None, tf, target), model(x, ring, None, tf, target))
    no_head_dropout = GENELink(N_FEATURES, dropout=0.0).train()
    graph = AttentionGraph.of(ring, N_GENES)
    layer = no_head_dropout.encoder.layer1
    assert not torch.allclose(layer(x, graph), layer(x, graph))  # the attention dropout alone
    layer.eval()
    assert torch.equal(layer(x, graph), layer(x, graph))


def test_cross_attention_with_uniform_weights_is_the_neighbourhood_mean(inputs):
    _, embedding, ring, _, _ = inputs
    torch.manual_seed(0)
    fusion = CrossAttentionFusion(EMB_DIM, graph_dim=7, neighbourhood=ring, width=8, heads=2, dropout=0.0).eval()
    with torch.no_grad():  # a zero query scores every neighbour alike: uniform attention
        fusion.query.weight.zero_()
        fusion.query.bias.zero_()
    graph = torch.randn(N_GENES, 7)
    values = fusion.value(graph)
    expected = torch.stack([(values[i - 1] + values[i] + values[(i + 1) % N_GENES]) / 3 for i in range(N_GENES)])
    assert torch.allclose(fusion.attend(embedding, graph), expected, atol=1e-5)


def test_cross_attention_attends_over_the_inferred_grn_not_the_training_graph(inputs):
    x, embedding, ring, tf, target = inputs
    model = _built(Variant("cross", fusion="cross_attention")).eval()
    assert torch.equal(model.fusion.neighbourhood, STAR)
    # gene 5's attention reaches gene 0 (its inferred-GRN neighbour), not gene 4 or 6 (training graph)
    graph = model.encoder(x, ring)
    moved = graph.clone()
    moved[4] += 10.0
    moved[6] += 10.0
    assert torch.allclose(model.fusion.attend(embedding, graph)[5], model.fusion.attend(embedding, moved)[5])
    moved[0] += 10.0
    assert not torch.allclose(model.fusion.attend(embedding, graph)[5], model.fusion.attend(embedding, moved)[5])


def test_cross_attention_gradients_reach_embedding_projection_and_gnn(inputs):
    x, embedding, ring, tf, target = inputs
    model = _built(Variant("cross", fusion="cross_attention"))
    model(x, ring, embedding, tf, target).sum().backward()
    fusion, first_conv = model.fusion, model.encoder.convs[0]
    for param in (fusion.query.weight, fusion.embedding_projection.weight, first_conv.lin.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_cross_attention_needs_embedding_and_gnn():
    with pytest.raises(ValueError, match="needs both"):
        CrossAttentionFusion(0, graph_dim=8, neighbourhood=STAR)
    with pytest.raises(ValueError, match="needs both"):
        CrossAttentionFusion(EMB_DIM, graph_dim=NoGraphEncoder.out_dim, neighbourhood=STAR)


def _as_if_trained(model):
    """grnlink's scorer starts with zero output layers (its logit is the offset alone);
    give them the nonzero weights training would."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in (model.scorer.pair[-1], model.scorer.tf_weights):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
    return model


def test_grnlink_reads_the_training_graph_and_the_inferred_grn_as_two_edge_types(inputs):
    x, embedding, ring, tf, target = inputs
    model = _as_if_trained(_built(Variant("grnlink", model="grnlink")).eval())
    assert isinstance(model.encoder, RelationalGNNEncoder) and isinstance(model.scorer, EvidencePairScorer)
    assert torch.equal(model.encoder.grn_edge_index, STAR)
    base = model(x, ring, embedding, tf, target)
    without_training_graph = model(x, torch.empty((2, 0), dtype=torch.long), embedding, tf, target)
    assert not torch.allclose(base, without_training_graph)
    model.encoder.grn_edge_index = torch.empty((2, 0), dtype=torch.long)
    assert not torch.allclose(base, model(x, ring, embedding, tf, target))


def test_grnlink_scorer_weighs_the_evidence_per_tf(inputs):
    """Two TFs with the same evidence on a target get different evidence effects: the
    score is not a TF score plus a target score plus a shared evidence term."""
    x, embedding, ring, _, _ = inputs
    torch.manual_seed(0)
    evidence = torch.zeros(N_GENES, N_GENES, N_EVIDENCE)
    model = _as_if_trained(_built(Variant("grnlink", model="grnlink"), evidence=evidence).eval())
    tf = torch.tensor([0, 0, 1, 1])
    target = torch.tensor([5, 6, 5, 6])
    before = model(x, ring, embedding, tf, target)
    model.scorer.evidence[0, 5] += 1.0
    model.scorer.evidence[1, 5] += 1.0
    effect = model(x, ring, embedding, tf, target) - before
    assert effect[1] == 0 and effect[3] == 0  # other pairs untouched
    assert not torch.isclose(effect[0], effect[2])


def test_grnlink_builds_without_gnn_or_embedding_but_needs_one():
    assert isinstance(_built(Variant("g", model="grnlink", encoder="none")).encoder, NoGraphEncoder)
    assert _built(Variant("g", model="grnlink", embedding=False)).fusion.out_dim == 8
    with pytest.raises(ValueError, match="GNN, the embedding"):
        Variant("g", model="grnlink", encoder="none", embedding=False)


def _pair_logits(model, x, ring, embedding, n_genes=N_GENES):
    tf = torch.arange(3).repeat_interleave(n_genes)
    target = torch.arange(n_genes).repeat(3)
    return model(x, ring, embedding, tf, target).reshape(3, n_genes)


def test_linear_classifier_ranks_every_tfs_targets_alike_and_hidden_layers_do_not(inputs):
    x, embedding, ring, _, _ = inputs
    torch.manual_seed(0)
    linear = _built(Variant("scregnet")).eval()
    logits = _pair_logits(linear, x, ring, embedding)
    assert torch.allclose(logits - logits[:, :1], (logits - logits[:, :1])[0].expand_as(logits), atol=1e-5)
    hidden = _built(Variant("hidden", classifier_layers=1)).eval()
    with torch.no_grad():  # at initialisation the biases keep every hidden unit on one side of its kink
        hidden.scorer.classifier[0][0].bias.zero_()
    logits = _pair_logits(hidden, x, ring, embedding)
    assert not torch.allclose(logits - logits[:, :1], (logits - logits[:, :1])[0].expand_as(logits), atol=1e-4)


def test_pair_coexpression_joins_the_classifier_unit_scaled_and_stays_out_of_the_state(inputs):
    x, embedding, ring, tf, target = inputs
    coexpression = torch.corrcoef(x)
    torch.manual_seed(0)
    model = _built(Variant("pair", pair_coexpression=True, classifier_layers=1), coexpression=coexpression).eval()
    scaled = model.scorer.coexpression
    off_diagonal = ~torch.eye(N_GENES, dtype=torch.bool)
    assert scaled[off_diagonal].std().item() == pytest.approx(1.0, abs=1e-5)
    assert not any("coexpression" in key for key in model.state_dict())
    before = model(x, ring, embedding, tf, target)
    scaled[tf, target] = 0.0
    assert not torch.allclose(before, model(x, ring, embedding, tf, target))


@pytest.mark.parametrize("coexpression", [False, True])
def test_linear_classifier_gives_the_logits_of_the_concatenated_pair_rows(inputs, coexpression):
    """The per-gene path of a single linear layer (TF score + target score) is the layer
    applied to [m_tf, m_target(, r, |r|)] rows."""
    x, embedding, ring, tf, target = inputs
    torch.manual_seed(0)
    model = _built(Variant("pair", pair_coexpression=coexpression),
                   coexpression=torch.corrcoef(x) if coexpression else None).eval()
    scorer = model.scorer
    with torch.no_grad():
        z = model.node_representations(x, model.prepare_graph(ring, N_GENES), embedding)
        mapped = scorer.mlp(z)
        rows = [mapped[tf], mapped[target]]
        if coexpression:
            r = scorer.coexpression[tf, target].unsqueeze(1)
            rows += [r, r.abs()]
        expected = scorer.classifier(torch.cat(rows, dim=1)).squeeze(1)
        assert torch.allclose(scorer(z, tf, target), expected, atol=1e-6)


@pytest.mark.parametrize("encoder", ["gcn", "sage", "gat"])
def test_prepared_graphs_give_the_layers_outputs_on_the_edge_index(inputs, encoder):
    """The GCN layers read a normalised adjacency prepared once per graph: the same outputs
    as PyG's layer normalising the edge index itself."""
    x, _, ring, _, _ = inputs
    torch.manual_seed(0)
    model = _built(Variant("gnn", encoder=encoder, embedding=False)).eval()
    graph = model.prepare_graph(ring, N_GENES)
    h = x
    for conv in model.encoder.convs:
        if encoder == "gcn":
            reference = GCNConv(conv.in_channels, conv.out_channels)
            reference.load_state_dict(conv.state_dict())
            conv = reference
        h = torch.relu(conv(h, ring))
    assert torch.allclose(model.encoder(x, graph), h, atol=1e-5)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_dropout_module_drops_a_fraction_p_in_training_only(p):
    torch.manual_seed(0)
    dropout = Dropout(p)
    x = torch.ones(200_000)
    dropped = dropout(x)
    assert float((dropped == 0).float().mean()) == pytest.approx(p, abs=0.01)
    assert float(dropped.mean()) == pytest.approx(1.0, abs=0.01)
    assert torch.equal(dropout.eval()(x), x)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_attention_dropout_drops_a_fraction_p_and_scales_the_rest_like_f_dropout(p):
    torch.manual_seed(0)
    scale = _dropout_scale(torch.empty(200_000), p)
    kept = scale > 0
    assert float((~kept).float().mean()) == pytest.approx(p, abs=0.01)
    assert torch.allclose(scale[kept], torch.full_like(scale[kept], 1 / (1 - p)))
    assert float(scale.mean()) == pytest.approx(1.0, abs=0.01)


def _coalesced_csr(edge_index, n_nodes):
    """GCN's normalised adjacency as torch and PyG build it: gcn_norm, a coalesced COO, CSR."""
    edge_index, weight = gcn_norm(edge_index, None, n_nodes, add_self_loops=True)
    coo = torch.sparse_coo_tensor(edge_index.flip(0), weight, (n_nodes, n_nodes), check_invariants=False)
    return coo.coalesce().to_sparse_csr()


def test_the_symmetric_adjacency_gives_gcn_the_same_outputs_and_gradients_bit_for_bit():
    """The CPU form of GCN's graph (its entries sorted, the matrix itself in the backward pass) equals
    gcn_norm's coalesced CSR matrix read by PyG's GCNConv: entries, layer outputs and the
    gradients of the weights and the input, exactly."""
    g = torch.Generator().manual_seed(1)
    n = 40
    pairs = torch.randint(0, n, (2, 120), generator=g)
    graph = undirected_graph(pairs[0].numpy(), pairs[1].numpy(), n)
    reference = _coalesced_csr(graph, n)
    adjacency = SymmetricAdjacency.of(graph, n)
    for part in ("crow_indices", "col_indices", "values"):
        assert torch.equal(getattr(adjacency.matrix, part)(), getattr(reference, part)())
    torch.manual_seed(0)
    conv = GCNConv(7, 5, normalize=False)
    x = torch.randn(n, 7, generator=g, requires_grad=True)
    upstream = torch.randn(n, 5, generator=g)
    ours = adjacency.gcn_layer(conv, x)
    ours_grads = torch.autograd.grad(ours, [x, conv.lin.weight, conv.bias], upstream)
    theirs = conv(x, reference)
    theirs_grads = torch.autograd.grad(theirs, [x, conv.lin.weight, conv.bias], upstream)
    assert torch.equal(ours, theirs)
    for mine, pyg in zip(ours_grads, theirs_grads):
        assert torch.equal(mine, pyg)


def test_the_symmetric_adjacency_refuses_directed_graphs_and_self_loops():
    with pytest.raises(ValueError, match="undirected graphs without self loops"):
        SymmetricAdjacency.of(torch.tensor([[0, 1], [1, 2]]), 3)
    with pytest.raises(ValueError, match="undirected graphs without self loops"):
        SymmetricAdjacency.of(torch.tensor([[0, 1, 1], [1, 0, 1]]), 3)


def test_the_cuda_form_of_the_gcn_graph_gives_the_same_layers_outputs(inputs):
    """On CUDA the GCN layers read the normalised graph as an (edge index, weight) pair
    (scatter sums) instead of a sparse adjacency: the same outputs, checked here on the CPU."""
    x, _, ring, _, _ = inputs
    torch.manual_seed(0)
    model = _built(Variant("gnn", encoder="gcn", embedding=False)).eval()
    sparse = model.prepare_graph(ring, N_GENES)
    pair = gcn_norm(ring, None, N_GENES, add_self_loops=True)
    assert not isinstance(sparse, tuple)
    assert torch.allclose(model.encoder(x, pair), model.encoder(x, sparse), atol=1e-5)
