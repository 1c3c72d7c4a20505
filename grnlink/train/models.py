"""Link-prediction networks: scRegNet (with its ablations) and the GENELink baseline.

Both map the genes to representations with a graph encoder over the training graph and
then score (TF, target) index pairs; `forward` returns logits (sigmoid gives P(edge)).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.utils import add_self_loops, scatter, softmax

ENCODERS = ("gcn", "sage", "gat", "none")
FUSIONS = ("concat", "cross_attention")


def _conv(encoder: str, n_in: int, n_out: int, heads: int) -> nn.Module:
    if encoder == "gcn":
        return GCNConv(n_in, n_out)
    if encoder == "sage":
        return SAGEConv(n_in, n_out)
    if encoder == "gat":
        if n_out % heads:
            raise ValueError(f"GAT width {n_out} is not a multiple of its {heads} heads")
        return GATConv(n_in, n_out // heads, heads=heads)
    raise ValueError(f"unknown encoder {encoder!r}; choose one of {ENCODERS}")


def _mlp(n_in: int, hidden: int, n_layers: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def _unit_scale(coexpression: torch.Tensor) -> torch.Tensor:
    """`coexpression` divided by the standard deviation of its off-diagonal entries."""
    off_diagonal = ~torch.eye(coexpression.shape[0], dtype=torch.bool)
    return coexpression / coexpression[off_diagonal].std().clamp_min(1e-12)


class CrossAttentionFusion(nn.Module):
    """GRNFormer's graph topological adapter: each gene's foundation-model embedding is the
    query of a multi-head attention over the GNN representations of the gene and its graph
    neighbours; residual connection to the projected embedding, then layer norm.

    Attention runs over the edges (softmax per receiving gene), so memory grows with the
    edges, not with the square of the genes.
    """

    def __init__(self, embedding_dim: int, graph_dim: int, width: int = 128, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        if width % heads:
            raise ValueError(f"cross-attention width {width} is not a multiple of its {heads} heads")
        self.heads, self.head_dim = heads, width // heads
        self.query = nn.Linear(embedding_dim, width)
        self.key = nn.Linear(graph_dim, width)
        self.value = nn.Linear(graph_dim, width)
        self.embedding_projection = nn.Linear(embedding_dim, width)
        self.out = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(width)

    def attend(self, embedding: torch.Tensor, graph: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Per gene, the attention-weighted values of its neighbours and itself (heads concatenated)."""
        n = embedding.shape[0]
        edge_index, _ = add_self_loops(edge_index, num_nodes=n)
        source, receiver = edge_index
        q = self.query(embedding).view(n, self.heads, self.head_dim)
        k = self.key(graph).view(n, self.heads, self.head_dim)
        v = self.value(graph).view(n, self.heads, self.head_dim)
        logits = (q[receiver] * k[source]).sum(-1) / self.head_dim ** 0.5
        weights = self.dropout(softmax(logits, receiver, num_nodes=n))
        message = v[source] * weights.unsqueeze(-1)
        return scatter(message, receiver, dim=0, dim_size=n, reduce="sum").reshape(n, -1)

    def forward(self, embedding: torch.Tensor, graph: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        attended = self.out(self.attend(embedding, graph, edge_index))
        return self.norm(self.embedding_projection(embedding) + self.dropout(attended))


class ScRegNet(nn.Module):
    """GNN over the training graph, joined with a frozen foundation-model embedding.

    `encoder="none"` drops the GNN (embedding only), `embedding_dim=0` drops the embedding
    (GNN only). The joint representation is the concatenation of embedding and GNN output,
    or (`fusion="cross_attention"`) the embedding attending over the GNN outputs of the
    gene's neighbourhood. A shared MLP maps the TF's and the target's joint representation;
    the two outputs are concatenated and the paper's final fully connected network gives the
    logit: one linear layer (`classifier_layers=0`, the public code), or hidden ReLU layers of
    width `mlp_hidden` before it.

    A single linear layer scores a pair as the sum of a TF score and a target score, so it
    ranks every TF's candidate targets alike. Given `coexpression` (genes x genes Pearson r),
    the pair's r and |r| join the classifier's input, scaled to unit standard deviation over
    gene pairs; with hidden classifier layers their weight can then depend on the TF.
    """

    def __init__(self, n_features: int, embedding_dim: int = 0, encoder: str = "gcn", gnn_layers: int = 2,
                 hidden: int = 256, mlp_layers: int = 2, mlp_hidden: int = 128, dropout: float = 0.2,
                 heads: int = 4, fusion: str = "concat", attention_width: int = 128, attention_heads: int = 4,
                 attention_dropout: float = 0.1, classifier_layers: int = 0,
                 coexpression: torch.Tensor | None = None):
        super().__init__()
        if encoder == "none" and embedding_dim == 0:
            raise ValueError("scRegNet needs the GNN, the embedding or both")
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; choose one of {FUSIONS}")
        if fusion == "cross_attention" and (encoder == "none" or embedding_dim == 0):
            raise ValueError("cross-attention fusion needs both the GNN and the embedding")
        self.use_gnn = encoder != "none"
        self.convs = nn.ModuleList(
            [_conv(encoder, n_features if i == 0 else hidden, hidden, heads) for i in range(gnn_layers)]
            if self.use_gnn else []
        )
        self.dropout = nn.Dropout(dropout)
        self.fusion = (CrossAttentionFusion(embedding_dim, hidden, attention_width, attention_heads, attention_dropout)
                       if fusion == "cross_attention" else None)
        joint = attention_width if self.fusion else embedding_dim + (hidden if self.use_gnn else 0)
        self.mlp = _mlp(joint, mlp_hidden, mlp_layers, dropout)
        self.register_buffer("coexpression", None if coexpression is None else _unit_scale(coexpression),
                             persistent=False)
        pair_width = 2 * (mlp_hidden if mlp_layers else joint) + (0 if coexpression is None else 2)
        self.classifier = nn.Sequential(_mlp(pair_width, mlp_hidden, classifier_layers, dropout),
                                        nn.Linear(mlp_hidden if classifier_layers else pair_width, 1))

    def encode_graph(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = self.dropout(torch.relu(conv(h, edge_index)))
        return h

    def node_representations(self, x: torch.Tensor, edge_index: torch.Tensor,
                             embedding: torch.Tensor | None) -> torch.Tensor:
        if self.fusion is not None:
            return self.fusion(embedding, self.encode_graph(x, edge_index), edge_index)
        parts = [] if embedding is None else [embedding]
        if self.use_gnn:
            parts.append(self.encode_graph(x, edge_index))
        return torch.cat(parts, dim=1)

    def score(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mapped = self.mlp(z)
        parts = [mapped[tf], mapped[target]]
        if self.coexpression is not None:
            r = self.coexpression[tf, target].unsqueeze(1)
            parts += [r, r.abs()]
        return self.classifier(torch.cat(parts, dim=1)).squeeze(1)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, embedding: torch.Tensor | None,
                tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.score(self.node_representations(x, edge_index, embedding), tf, target)


class GENELink(nn.Module):
    """GENELink (Chen and Liu 2022): two multi-head GAT layers (heads concatenated), separate
    TF and target MLP heads (hidden 32, output 16) and a dot-product decoder."""

    def __init__(self, n_features: int, hidden: tuple[int, int, int] = (128, 64, 32), output: int = 16,
                 heads: int = 3, attention_dropout: float = 0.5, dropout: float = 0.1):
        super().__init__()
        h1, h2, h3 = hidden
        self.gat1 = GATConv(n_features, h1, heads=heads, negative_slope=0.2, dropout=attention_dropout)
        self.gat2 = GATConv(h1 * heads, h2, heads=heads, negative_slope=0.2, dropout=attention_dropout)
        self.tf_head = self._head(h2 * heads, h3, output, dropout)
        self.target_head = self._head(h2 * heads, h3, output, dropout)

    @staticmethod
    def _head(n_in: int, hidden: int, output: int, dropout: float) -> nn.Sequential:
        return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                             nn.Linear(hidden, output), nn.LeakyReLU(0.2))

    def node_representations(self, x: torch.Tensor, edge_index: torch.Tensor,
                             embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = nn.functional.elu(self.gat1(x, edge_index))
        return nn.functional.elu(self.gat2(h, edge_index))

    def score(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (self.tf_head(z)[tf] * self.target_head(z)[target]).sum(dim=1)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, embedding: torch.Tensor | None,
                tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.score(self.node_representations(x, edge_index), tf, target)
