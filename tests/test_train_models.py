"""scRegNet (encoders and ablations) and GENELink produce one logit per pair and use what
they should: the graph, the embedding, or both."""

import pytest
import torch

from grnlink.train.models import GENELink, CrossAttentionFusion, ScRegNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


N_GENES, N_FEATURES, EMB_DIM = 12, 9, 5


@pytest.fixture
def inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_GENES, N_FEATURES, generator=g)
    embedding = torch.randn(N_GENES, EMB_DIM, generator=g)
    ring = torch.tensor([[i for i in range(N_GENES)] + [(i + 1) % N_GENES for i in range(N_GENES)],
                         [(i + 1) % N_GENES for i in range(N_GENES)] + [i for i in range(N_GENES)]])
    tf, target = torch.tensor([0, 1, 2, 3]), torch.tensor([5, 6, 7, 8])
    return x, embedding, ring, tf, target


@pytest.mark.parametrize("encoder", ["gcn", "sage", "gat"])
def test_scregnet_gives_one_logit_per_pair_and_uses_the_graph(inputs, encoder):
    x, embedding, ring, tf, target = inputs
    torch.manual_seed(0)
    model = ScRegNet(N_FEATURES, EMB_DIM, encoder=encoder, hidden=8, mlp_hidden=6, heads=2).eval()
    out = model(x, ring, embedding, tf, target)
    assert out.shape == (4,)
    no_edges = torch.empty((2, 0), dtype=torch.long)
    assert not torch.allclose(out, model(x, no_edges, embedding, tf, target))


def test_scregnet_without_gnn_ignores_graph_and_features(inputs):
    x, embedding, ring, tf, target = inputs
    model = ScRegNet(N_FEATURES, EMB_DIM, encoder="none", mlp_hidden=6).eval()
    assert torch.equal(model(x, ring, embedding, tf, target),
                       model(torch.zeros_like(x), torch.empty((2, 0), dtype=torch.long), embedding, tf, target))


def test_scregnet_without_embedding_and_with_it(inputs):
    x, embedding, ring, tf, target = inputs
    no_embedding = ScRegNet(N_FEATURES, 0, hidden=8, mlp_hidden=6).eval()
    assert no_embedding(x, ring, None, tf, target).shape == (4,)
    with_embedding = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6).eval()
    assert not torch.allclose(with_embedding(x, ring, embedding, tf, target),
                              with_embedding(x, ring, torch.zeros_like(embedding), tf, target))


def test_scregnet_needs_gnn_or_embedding():
    with pytest.raises(ValueError, match="GNN, the embedding or both"):
        ScRegNet(N_FEATURES, 0, encoder="none")


def test_dropout_is_off_in_evaluation(inputs):
    x, embedding, ring, tf, target = inputs
    model = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6, dropout=0.5).eval()
    assert torch.equal(model(x, ring, embedding, tf, target), model(x, ring, embedding, tf, target))


def test_genelink_scores_pairs_by_direction(inputs):
    x, _, ring, tf, target = inputs
    torch.manual_seed(0)
    model = GENELink(N_FEATURES).eval()
    forward, backward = model(x, ring, None, tf, target), model(x, ring, None, target, tf)
    assert forward.shape == (4,)
    assert not torch.allclose(forward, backward)  # separate TF and target heads: direction matters
    assert sum(p.numel() for p in model.gat1.parameters()) > N_FEATURES * 128 * 3


def test_cross_attention_with_uniform_weights_is_the_neighbourhood_mean(inputs):
    _, embedding, ring, _, _ = inputs
    torch.manual_seed(0)
    fusion = CrossAttentionFusion(EMB_DIM, graph_dim=7, width=8, heads=2, dropout=0.0).eval()
    with torch.no_grad():  # a zero query scores every neighbour alike: uniform attention
        fusion.query.weight.zero_()
        fusion.query.bias.zero_()
    graph = torch.randn(N_GENES, 7)
    values = fusion.value(graph)
    expected = torch.stack([(values[i - 1] + values[i] + values[(i + 1) % N_GENES]) / 3 for i in range(N_GENES)])
    assert torch.allclose(fusion.attend(embedding, graph, ring), expected, atol=1e-5)


def test_cross_attention_gradients_reach_embedding_projection_and_gnn(inputs):
    x, embedding, ring, tf, target = inputs
    model = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6, fusion="cross_attention", attention_width=8,
                     attention_heads=2)
    model(x, ring, embedding, tf, target).sum().backward()
    for param in (model.fusion.query.weight, model.fusion.embedding_projection.weight, model.convs[0].lin.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_cross_attention_needs_embedding_and_gnn():
    with pytest.raises(ValueError, match="needs both"):
        ScRegNet(N_FEATURES, 0, fusion="cross_attention")


def _pair_logits(model, x, ring, embedding, n_genes=N_GENES):
    tf = torch.arange(3).repeat_interleave(n_genes)
    target = torch.arange(n_genes).repeat(3)
    return model(x, ring, embedding, tf, target).reshape(3, n_genes)


def test_linear_classifier_ranks_every_tfs_targets_alike_and_hidden_layers_do_not(inputs):
    x, embedding, ring, _, _ = inputs
    torch.manual_seed(0)
    linear = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6).eval()
    logits = _pair_logits(linear, x, ring, embedding)
    assert torch.allclose(logits - logits[:, :1], (logits - logits[:, :1])[0].expand_as(logits), atol=1e-5)
    hidden = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6, classifier_layers=1).eval()
    with torch.no_grad():  # at initialisation the biases keep every hidden unit on one side of its kink
        hidden.classifier[0][0].bias.zero_()
    logits = _pair_logits(hidden, x, ring, embedding)
    assert not torch.allclose(logits - logits[:, :1], (logits - logits[:, :1])[0].expand_as(logits), atol=1e-4)


def test_pair_coexpression_joins_the_classifier_unit_scaled_and_stays_out_of_the_state(inputs):
    x, embedding, ring, tf, target = inputs
    coexpression = torch.corrcoef(x)
    torch.manual_seed(0)
    model = ScRegNet(N_FEATURES, EMB_DIM, hidden=8, mlp_hidden=6, classifier_layers=1, coexpression=coexpression).eval()
    off_diagonal = ~torch.eye(N_GENES, dtype=torch.bool)
    assert model.coexpression[off_diagonal].std().item() == pytest.approx(1.0, abs=1e-5)
    assert "coexpression" not in model.state_dict()
    before = model(x, ring, embedding, tf, target)
    model.coexpression[tf, target] = 0.0
    assert not torch.allclose(before, model(x, ring, embedding, tf, target))
