"""Link-prediction networks composed from parts, as PyG composes GAE(encoder, decoder).

A `LinkPredictor` hands each gene through three modules:

- a graph encoder (`GraphEncoder`): gene features over the training graph -> one
  representation per gene (`GNNEncoder` for GCN, GraphSAGE and GAT stacks, `NoGraphEncoder`,
  GENELink's `GraphAttentionEncoder`);
  (`RelationalGNNEncoder`: the training graph and the inferred GRN as two edge types);
- a fusion (`Fusion`): joins the frozen foundation-model embedding, when there is one, with
  the graph representation (`ConcatFusion`, `CrossAttentionFusion`);
- a pair scorer (`PairScorer`): the logit of each (TF, target) index pair from the fused
  representations (scRegNet's `PairClassifier`, GENELink's `TfTargetDotProduct`,
  grnlink's `EvidencePairScorer`).

`grnlink.train.build.build_model` picks the parts a training variant names (scRegNet as
published is the GCN encoder, concatenation and a linear classifier; grnlink is the
relational encoder, a fusion and the evidence scorer, whose logit the trainer adds to the
degree baseline's); `GENELink` is the published composition of its own parts. Fixed
graphs a part reads besides the training graph (the inferred GRN) are buffers of that part,
outside its state dict.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_self_loops, scatter, softmax


class GraphEncoder(nn.Module):
    """A graph encoder: `forward(x, graph)` maps the gene features `x` (n_genes x
    n_features) over `graph` to an (n_genes x `out_dim`) representation. `graph` is
    `prepare(edge_index, n_nodes)` of an edge index: the form the encoder's layers read
    (an edge index, a normalised sparse adjacency, an `AttentionGraph`), computed once per graph
    rather than once per layer and step (the trainer prepares each epoch's training graph
    once, and the evaluation graph once per fit)."""

    out_dim: int

    def prepare(self, edge_index: torch.Tensor, n_nodes: int) -> Any:
        return edge_index


class Fusion(nn.Module):
    """A fusion: `forward(embedding, graph)` joins the foundation-model embedding
    (n_genes x embedding_dim, or None) with the graph encoder's output `graph` into the
    (n_genes x `out_dim`) representation the pair scorer reads."""

    out_dim: int


class PairScorer(nn.Module):
    """A pair scorer: `forward(z, tf, target)` gives one logit per (tf[i], target[i]) index
    pair from the fused representations `z` (sigmoid gives P(edge))."""


class LinkPredictor(nn.Module):
    """A link predictor from its parts: encoder, fusion and pair scorer (see the module
    docstring). `forward` returns one logit per pair; `node_representations` and `score`
    split it, so that the genes are encoded once for many batches of pairs."""

    def __init__(self, encoder: GraphEncoder, fusion: Fusion, scorer: PairScorer):
        super().__init__()
        self.encoder = encoder
        self.fusion = fusion
        self.scorer = scorer

    def prepare_graph(self, edge_index: torch.Tensor, n_nodes: int) -> Any:
        """The graph as `node_representations` reads it (see `GraphEncoder`)."""
        return self.encoder.prepare(edge_index, n_nodes)

    def node_representations(self, x: torch.Tensor, graph: Any,
                             embedding: torch.Tensor | None = None) -> torch.Tensor:
        return self.fusion(embedding, self.encoder(x, graph))

    def score(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.scorer(z, tf, target)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, embedding: torch.Tensor | None,
                tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        graph = self.prepare_graph(edge_index, x.shape[0])
        return self.score(self.node_representations(x, graph, embedding), tf, target)


# ---- dropout ---------------------------------------------------------------------------
def _dropout_scale(like: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout factors shaped as `like`: 0 with probability p, else 1 / (1 - p), as
    `F.dropout` applies them. For u uniform on [0, 1), floor(u + 1 - p) is 1 when u >= p and
    0 otherwise. On the CPU this is about 2.5 times faster than `F.dropout`'s Bernoulli draws,
    which dominated GENELink's steps on the dense n x n attention and, after that, scRegNet's."""
    return torch.rand_like(like).add_(1 - p).floor_().div_(1 - p)


class Dropout(nn.Module):
    """Inverted dropout with probability `p` in training, identity in evaluation: `nn.Dropout`
    with the factors of `_dropout_scale` (uniform draws) instead of Bernoulli draws."""

    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability {p} is not in [0, 1)")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * _dropout_scale(x, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---- encoders --------------------------------------------------------------------------
GraphForm = Callable[[torch.Tensor, int], Any]


def convolve(conv: nn.Module, x: torch.Tensor, graph: Any) -> torch.Tensor:
    """One message-passing layer over a graph in any of the forms above: a tensor (edge
    index), an (edge index, edge weight) pair or a `SymmetricAdjacency`."""
    if isinstance(graph, SymmetricAdjacency):
        return graph.gcn_layer(conv, x)
    return conv(x, *graph) if isinstance(graph, tuple) else conv(x, graph)


def edge_index_form(edge_index: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """The edge index itself: the form of layers that read edge indices (GraphSAGE, GAT)."""
    return edge_index


class _SymmetricProduct(torch.autograd.Function):
    """`matrix @ h` for a symmetric sparse `matrix`, whose backward pass multiplies by the
    matrix itself: torch's own backward would first convert its transpose to CSR."""

    @staticmethod
    def forward(ctx: Any, matrix: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        ctx.matrix = matrix
        return torch.sparse.mm(matrix, h)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.matrix, grad)


@dataclass(frozen=True)
class SymmetricAdjacency:
    """GCN's propagation matrix D^-1/2 (A + I) D^-1/2 of an undirected graph as the CPU
    reads it: sparse CSR, rows the receiving nodes, columns sorted within a row (the matrix
    a coalesced COO tensor converts to), built by sorting its entries. Being symmetric, it
    is its own transpose, which a layer's backward pass needs (`_SymmetricProduct`): on
    hHEP TFs+500 a layer's product and its gradient took 0.4 ms instead of 0.9 ms, with
    the same numbers bit for bit (tests/test_train_models.py)."""

    matrix: torch.Tensor

    @classmethod
    def of(cls, edge_index: torch.Tensor, n_nodes: int) -> SymmetricAdjacency:
        """From an edge index that follows `grnlink.train.graphs` (both directions of every
        edge, no self loops, no repeats); other graphs raise a ValueError."""
        source, receiver = edge_index
        loops = torch.arange(n_nodes, device=edge_index.device) * (n_nodes + 1)
        entries = torch.sort(torch.cat([receiver * n_nodes + source, loops])).values
        reversed_entries = torch.sort(torch.cat([source * n_nodes + receiver, loops])).values
        if not torch.equal(entries, reversed_entries) or bool((entries[1:] == entries[:-1]).any()):
            raise ValueError("GCN reads undirected graphs without self loops or repeated edges "
                             "(grnlink.train.graphs); this edge index is not one")
        row, column = entries // n_nodes, entries % n_nodes
        per_row = torch.bincount(row, minlength=n_nodes)
        scale = per_row.to(torch.float32).pow(-0.5)  # degree with the self loop, as gcn_norm counts it
        row_starts = torch.cat([per_row.new_zeros(1), torch.cumsum(per_row, 0)])
        with warnings.catch_warnings():  # torch calls its CSR support beta; PyG's spmm runs on it too
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
            return cls(torch.sparse_csr_tensor(row_starts, column, scale[row] * scale[column], (n_nodes, n_nodes),
                                           check_invariants=False))

    def gcn_layer(self, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What `conv(x, matrix)` gives for a `GCNConv(normalize=False)`: its linear map, the
        product with the matrix, its bias."""
        out = _SymmetricProduct.apply(self.matrix, conv.lin(x))
        return out if conv.bias is None else out + conv.bias


def gcn_adjacency(edge_index: torch.Tensor, n_nodes: int) -> SymmetricAdjacency | tuple[torch.Tensor, torch.Tensor]:
    """GCN's propagation matrix D^-1/2 (A + I) D^-1/2, normalised once per graph instead of
    once per layer call, in a form the layers of `GCNConv(normalize=False)` read (the same
    output). On the CPU a `SymmetricAdjacency`. On CUDA the (edge index, edge weight) pair,
    summed by scatter: cuSPARSE's product is not reproducible there (the same seed gave
    test AUROC 0.8998 and 0.9000 on an H200, bench/RESULTS.md), while the scatter sums run
    deterministically."""
    if edge_index.is_cuda:
        return gcn_norm(edge_index, None, n_nodes, add_self_loops=True)
    return SymmetricAdjacency.of(edge_index, n_nodes)


class GNNEncoder(GraphEncoder):
    """scRegNet's GNN: `layers` message-passing layers of width `hidden`, each followed by
    ReLU and dropout. `conv(n_in, n_out)` makes one layer (GCN, GraphSAGE or GAT);
    `graph_form(edge_index, n_nodes)` is the graph form it reads (`prepare`)."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float,
                 conv: Callable[[int, int], nn.Module], graph_form: GraphForm = edge_index_form):
        super().__init__()
        self.convs = nn.ModuleList([conv(n_features if i == 0 else hidden, hidden) for i in range(layers)])
        self.dropout = Dropout(dropout)
        self.graph_form = graph_form
        self.out_dim = hidden

    def prepare(self, edge_index: torch.Tensor, n_nodes: int) -> torch.Tensor:
        return self.graph_form(edge_index, n_nodes)

    def forward(self, x: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = self.dropout(torch.relu(convolve(conv, h, graph)))
        return h


class RelationalGNNEncoder(GraphEncoder):
    """grnlink's GNN over two edge types, as GRNFormer encodes the inferred GRN next to the
    known edges: the training graph (`edge_index` of `forward`, withheld and perturbed per
    epoch by the trainer) and the inferred GRN (`grn_edge_index`, fixed; `prepare` gives
    both graphs). Each of `layers` layers sums one message-passing layer per edge type,
    each with its own weights (an R-GCN-style sum), then ReLU and dropout; `conv(n_in,
    n_out)` makes one layer, which reads graphs in the form `graph_form` makes."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float,
                 conv: Callable[[int, int], nn.Module], grn_edge_index: torch.Tensor,
                 graph_form: GraphForm = edge_index_form):
        super().__init__()
        widths = [(n_features if i == 0 else hidden, hidden) for i in range(layers)]
        self.train_convs = nn.ModuleList([conv(*w) for w in widths])
        self.grn_convs = nn.ModuleList([conv(*w) for w in widths])
        self.graph_form = graph_form
        self.register_buffer("grn_edge_index", grn_edge_index, persistent=False)
        self.dropout = Dropout(dropout)
        self.out_dim = hidden

    def prepare(self, edge_index: torch.Tensor, n_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.graph_form(edge_index, n_nodes), self.graph_form(self.grn_edge_index, n_nodes)

    def forward(self, x: torch.Tensor, graph: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        train_graph, grn_graph = graph
        h = x
        for train_conv, grn_conv in zip(self.train_convs, self.grn_convs):
            h = self.dropout(torch.relu(convolve(train_conv, h, train_graph) + convolve(grn_conv, h, grn_graph)))
        return h


class NoGraphEncoder(GraphEncoder):
    """The `none` encoder: no GNN. Its output is zero columns wide, so a concatenation fusion
    keeps the embedding alone and features and graph are ignored."""

    out_dim = 0

    def forward(self, x: torch.Tensor, graph: Any) -> torch.Tensor:
        return x.new_zeros(x.shape[0], 0)


@dataclass(frozen=True)
class AttentionGraph:
    """GENELink's training graph as its attention layers read it: the edges j -> i
    (`source` j, `receiver` i; grnlink's graphs are undirected, both directions stored; no
    self loops are added) and the nodes that receive no edge (`isolated`), which attend
    uniformly over all nodes as published."""

    source: torch.Tensor
    receiver: torch.Tensor
    isolated: torch.Tensor
    n_nodes: int

    @classmethod
    def of(cls, edge_index: torch.Tensor, n_nodes: int) -> AttentionGraph:
        isolated = torch.bincount(edge_index[1], minlength=n_nodes) == 0
        return cls(edge_index[0], edge_index[1], torch.nonzero(isolated).flatten(), n_nodes)


class GraphAttention(nn.Module):
    """GENELink's graph-attention layer, `heads` independent heads side by side.

    Per head, with h = x W (W: n_in x n_out) and attention vector a = [a_1; a_2] (2 n_out):
    e[i, j] = LeakyReLU_alpha(h_i . a_1 + h_j . a_2) for the edges j -> i, softmax-normalised
    over each row i; in training, dropout on these attention weights; out_i =
    LeakyReLU_alpha(sum_j att[i, j] h_j), L2-normalised, plus bias. As published, a node
    without any edge attends uniformly over ALL nodes rather than over none.

    The published layer computes the dense n x n matrix with -9e15 where there is no edge;
    here the weights are computed on the edges only (exp(-9e15 - max) is exactly 0 in
    float32, so the weights are the same), which costs edges rather than n^2. Dropout draws
    its factors for the whole n x n matrix, as the dense layer does, and uses the edges'
    and the isolated rows' ones: the same seed drops the same weights as the dense layer.

    `forward` concatenates the heads (`reduction="concat"`, heads * n_out wide, head 0
    first) or averages them (`reduction="mean"`, n_out wide). W and a are xavier-uniform
    with gain 1.414 per head, the bias starts at 0.
    """

    def __init__(self, n_in: int, n_out: int, heads: int = 1, alpha: float = 0.2, dropout: float = 0.5,
                 reduction: str = "concat"):
        super().__init__()
        if reduction not in ("concat", "mean"):
            raise ValueError(f"unknown reduction {reduction!r}; choose 'concat' or 'mean'")
        self.n_out, self.alpha, self.dropout, self.reduction = n_out, alpha, dropout, reduction
        self.weight = nn.Parameter(torch.empty(heads, n_in, n_out))
        self.attention_vector = nn.Parameter(torch.empty(heads, 2 * n_out, 1))
        self.bias = nn.Parameter(torch.empty(heads, n_out))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for head in range(self.weight.shape[0]):  # per head: a 3-d tensor would get the wrong fans
            nn.init.xavier_uniform_(self.weight.data[head], gain=1.414)
            nn.init.xavier_uniform_(self.attention_vector.data[head], gain=1.414)
        nn.init.zeros_(self.bias)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x.unsqueeze(0), self.weight)  # heads x n x n_out

    def _edge_weights(self, h: torch.Tensor, graph: AttentionGraph) -> torch.Tensor:
        """Each edge's attention weight, heads x edges (rows of isolated nodes are uniform)."""
        own = torch.matmul(h, self.attention_vector[:, :self.n_out]).squeeze(2)  # heads x n
        other = torch.matmul(h, self.attention_vector[:, self.n_out:]).squeeze(2)  # heads x n
        logits = nn.functional.leaky_relu(own[:, graph.receiver] + other[:, graph.source], negative_slope=self.alpha)
        return softmax(logits, graph.receiver, num_nodes=graph.n_nodes, dim=1)

    def attention(self, x: torch.Tensor, graph: AttentionGraph) -> torch.Tensor:
        """Attention weights as the dense matrix (heads x n x n, before dropout): row i is node
        i's weights over the nodes j."""
        h = self._project(x)
        dense = h.new_zeros(h.shape[0], graph.n_nodes, graph.n_nodes)
        dense[:, graph.receiver, graph.source] = self._edge_weights(h, graph)
        dense[:, graph.isolated] = 1 / graph.n_nodes
        return dense

    def head_outputs(self, x: torch.Tensor, graph: AttentionGraph) -> torch.Tensor:
        """Each head's output, heads x n x n_out (see `AttentionGraph`)."""
        h = self._project(x)
        weights = self._edge_weights(h, graph)
        uniform = h.new_full((h.shape[0], len(graph.isolated), graph.n_nodes), 1 / graph.n_nodes)
        if self.training and self.dropout > 0:
            scale = _dropout_scale(h.new_empty(h.shape[0], graph.n_nodes, graph.n_nodes), self.dropout)
            weights = weights * scale[:, graph.receiver, graph.source]
            uniform = uniform * scale[:, graph.isolated]
        summed = h.new_zeros(h.shape).index_add_(1, graph.receiver, weights.unsqueeze(2) * h[:, graph.source])
        summed = summed.index_copy(1, graph.isolated, torch.matmul(uniform, h))
        out = nn.functional.leaky_relu(summed, negative_slope=self.alpha)
        return nn.functional.normalize(out, p=2, dim=2) + self.bias.unsqueeze(1)

    def forward(self, x: torch.Tensor, graph: AttentionGraph) -> torch.Tensor:
        out = self.head_outputs(x, graph)
        if self.reduction == "mean":
            return out.mean(dim=0)
        return out.transpose(0, 1).reshape(x.shape[0], -1)


class GraphAttentionEncoder(GraphEncoder):
    """GENELink's encoder: two `GraphAttention` layers over the training graph (no self
    loops): `heads[0]` heads of width `hidden[0]` concatenated, then ELU; `heads[1]` heads
    of width `hidden[1]` averaged, no activation (`out_dim` = hidden[1])."""

    def __init__(self, n_features: int, hidden: tuple[int, int], heads: tuple[int, int], alpha: float,
                 attention_dropout: float):
        super().__init__()
        (h1, h2), (heads1, heads2) = hidden, heads
        self.layer1 = GraphAttention(n_features, h1, heads1, alpha, attention_dropout, reduction="concat")
        self.layer2 = GraphAttention(h1 * heads1, h2, heads2, alpha, attention_dropout, reduction="mean")
        self.out_dim = h2

    def prepare(self, edge_index: torch.Tensor, n_nodes: int) -> AttentionGraph:
        return AttentionGraph.of(edge_index, n_nodes)

    def forward(self, x: torch.Tensor, graph: AttentionGraph) -> torch.Tensor:
        h = nn.functional.elu(self.layer1(x, graph))
        return self.layer2(h, graph)


# ---- fusions ---------------------------------------------------------------------------
class ConcatFusion(Fusion):
    """scRegNet's fusion: the embedding (when `embedding_dim` > 0) and the graph
    representation side by side. Without an embedding it is the graph representation itself."""

    def __init__(self, embedding_dim: int, graph_dim: int):
        super().__init__()
        if embedding_dim + graph_dim == 0:
            raise ValueError("the model needs the GNN, the embedding or both")
        self.out_dim = embedding_dim + graph_dim

    def forward(self, embedding: torch.Tensor | None, graph: torch.Tensor) -> torch.Tensor:
        if embedding is None:
            return graph
        return torch.cat([embedding, graph], dim=1)


class CrossAttentionFusion(Fusion):
    """Cross-attention of the embedding over the inferred GRN, inspired by GRNFormer's graph
    topological adapter (Qiu et al. 2025). Each gene's foundation-model embedding is the
    query of a multi-head attention whose keys and values are the GNN representations of the
    gene and its neighbours in the inferred GRN (`neighbourhood`, the grn stage's strongest
    edges, both directions); the attended values pass an output projection and dropout, are
    added to the projected embedding (residual) and layer-normalised (`out_dim` = width).

    How it differs from GRNFormer's adapter: there, the gene tokens of the RNA foundation
    model attend, inside every transformer block, to GNN embeddings of the multi-omic GRN,
    and the foundation model is trained with the adapter. Here the query is the frozen
    foundation-model embedding, pooled over cells (one vector per gene); the keys and values
    are the link predictor's own GNN outputs, restricted to the gene's inferred-GRN
    neighbourhood plus itself; and the module is one attention sublayer with residual and
    layer norm after the foundation model, not inside it (no feed-forward sublayer). Its
    output feeds the pair scorer, not the foundation model.

    Attention runs over the edges (softmax per receiving gene), so memory grows with the
    edges, not with the square of the genes.
    """

    def __init__(self, embedding_dim: int, graph_dim: int, neighbourhood: torch.Tensor, width: int = 128,
                 heads: int = 4, dropout: float = 0.1):
        super().__init__()
        if embedding_dim == 0 or graph_dim == 0:
            raise ValueError("cross-attention fusion needs both the GNN and the embedding")
        if width % heads:
            raise ValueError(f"cross-attention width {width} is not a multiple of its {heads} heads")
        self.heads, self.head_dim, self.out_dim = heads, width // heads, width
        self.query = nn.Linear(embedding_dim, width)
        self.key = nn.Linear(graph_dim, width)
        self.value = nn.Linear(graph_dim, width)
        self.embedding_projection = nn.Linear(embedding_dim, width)
        self.out = nn.Linear(width, width)
        self.dropout = Dropout(dropout)
        self.norm = nn.LayerNorm(width)
        self.register_buffer("neighbourhood", neighbourhood, persistent=False)

    def attend(self, embedding: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """Per gene, the attention-weighted values of its neighbours and itself (heads concatenated)."""
        n = embedding.shape[0]
        edge_index, _ = add_self_loops(self.neighbourhood, num_nodes=n)
        source, receiver = edge_index
        q = self.query(embedding).view(n, self.heads, self.head_dim)
        k = self.key(graph).view(n, self.heads, self.head_dim)
        v = self.value(graph).view(n, self.heads, self.head_dim)
        logits = (q[receiver] * k[source]).sum(-1) / self.head_dim ** 0.5
        weights = self.dropout(softmax(logits, receiver, num_nodes=n))
        message = v[source] * weights.unsqueeze(-1)
        return scatter(message, receiver, dim=0, dim_size=n, reduce="sum").reshape(n, -1)

    def forward(self, embedding: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        attended = self.out(self.attend(embedding, graph))
        return self.norm(self.embedding_projection(embedding) + self.dropout(attended))


# ---- pair scorers ----------------------------------------------------------------------
def _mlp(n_in: int, hidden: int, n_layers: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.ReLU(), Dropout(dropout)]
    return nn.Sequential(*layers)


def _unit_scale(coexpression: torch.Tensor) -> torch.Tensor:
    """`coexpression` divided by the standard deviation of its off-diagonal entries."""
    off_diagonal = ~torch.eye(coexpression.shape[0], dtype=torch.bool)
    return coexpression / coexpression[off_diagonal].std().clamp_min(1e-12)


class PairClassifier(PairScorer):
    """scRegNet's pair scorer. A shared MLP (`mlp_layers` layers of width `hidden`: linear,
    ReLU, dropout) maps every gene's representation; the TF's and the target's outputs are
    concatenated and the paper's final fully connected network gives the logit: one linear
    layer (`classifier_layers=0`, the public code), or hidden ReLU layers of width `hidden`
    before it.

    A single linear layer scores a pair as the sum of a TF score and a target score, so it
    ranks every TF's candidate targets alike. Given `coexpression` (genes x genes Pearson r),
    the pair's r and |r| join the classifier's input, scaled to unit standard deviation over
    gene pairs; with hidden classifier layers their weight can then depend on the TF. The
    scaled matrix is a buffer outside the state dict.
    """

    def __init__(self, n_in: int, *, hidden: int, mlp_layers: int, classifier_layers: int, dropout: float,
                 coexpression: torch.Tensor | None = None):
        super().__init__()
        self.mlp = _mlp(n_in, hidden, mlp_layers, dropout)
        self.classifier_layers = classifier_layers
        self.register_buffer("coexpression", None if coexpression is None else _unit_scale(coexpression),
                             persistent=False)
        pair_width = 2 * (hidden if mlp_layers else n_in) + (0 if coexpression is None else 2)
        self.classifier = nn.Sequential(_mlp(pair_width, hidden, classifier_layers, dropout),
                                        nn.Linear(hidden if classifier_layers else pair_width, 1))

    def forward(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mapped = self.mlp(z)
        if self.classifier_layers == 0:
            return self._linear_logits(mapped, tf, target)
        parts = [mapped[tf], mapped[target]]
        if self.coexpression is not None:
            r = self.coexpression[tf, target].unsqueeze(1)
            parts += [r, r.abs()]
        return self.classifier(torch.cat(parts, dim=1)).squeeze(1)

    def _linear_logits(self, mapped: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The single linear layer's logits, computed per gene then gathered per pair: the
        same sums as on the concatenated pair rows, without building them."""
        linear, width = self.classifier[-1], mapped.shape[1]
        per_gene = mapped @ linear.weight[0, :2 * width].view(2, width).T  # genes x (TF score, target score)
        logits = per_gene[tf, 0] + per_gene[target, 1] + linear.bias
        if self.coexpression is not None:
            r = self.coexpression[tf, target]
            logits = logits + linear.weight[0, -2] * r + linear.weight[0, -1] * r.abs()
        return logits


class EvidencePairScorer(PairScorer):
    """grnlink's pair scorer: node representations and the pair's evidence.

    A shared MLP (`mlp_layers` layers of width `hidden`) maps every gene's representation
    to m. A pair's logit is
    `MLP([m_tf, m_target, m_tf * m_target, e]) + (A m_tf) . e`,
    where e is the pair's evidence (`evidence[tf, target]`: quantiles, centred at 0) and the
    first MLP has one hidden layer of width `hidden`. The second term gives every TF its own
    weight on each evidence column (a TF whose targets are best told by ATAC, another by
    co-expression), so the score is not a TF score plus a target score. Both terms' output
    layers start at zero: the module adds what training finds beyond the offset, the
    evidence regression's logit (degree features and evidence, linear; fitted to the
    training pairs by grnlink.train.graph_run and added by the trainer, outside the
    module). The evidence tensor is a buffer outside the state dict.
    """

    def __init__(self, n_in: int, evidence: torch.Tensor, *, hidden: int, mlp_layers: int, dropout: float):
        super().__init__()
        if n_in == 0:
            raise ValueError("the evidence scorer needs node representations (GNN or embedding)")
        self.register_buffer("evidence", evidence - 0.5, persistent=False)
        n_evidence = evidence.shape[2]
        self.mlp = _mlp(n_in, hidden, mlp_layers, dropout)
        mapped = hidden if mlp_layers else n_in
        self.pair = nn.Sequential(_mlp(3 * mapped + n_evidence, hidden, 1, dropout), nn.Linear(hidden, 1))
        self.tf_weights = nn.Linear(mapped, n_evidence, bias=False)
        # Zero output layers: training starts from the offset (the evidence regression) alone.
        for layer in (self.pair[-1], self.tf_weights):
            nn.init.zeros_(layer.weight)
        nn.init.zeros_(self.pair[-1].bias)

    def forward(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mapped = self.mlp(z)
        m_tf, m_target, e = mapped[tf], mapped[target], self.evidence[tf, target]
        pair = self.pair(torch.cat([m_tf, m_target, m_tf * m_target, e], dim=1)).squeeze(1)
        return pair + (self.tf_weights(m_tf) * e).sum(dim=1)


class TfTargetDotProduct(PairScorer):
    """GENELink's pair scorer: separate TF and target heads map the representations, each
    Linear(n_in -> hidden), leaky ReLU (slope 0.01), dropout `dropout`, Linear(hidden ->
    output), leaky ReLU, linear weights xavier-uniform with gain 1.414. A pair's logit is the
    dot product of the TF's TF-head output and the target's target-head output, so the
    direction of the pair matters."""

    def __init__(self, n_in: int, hidden: int, output: int, dropout: float):
        super().__init__()
        self.tf_head = self._head(n_in, hidden, output, dropout)
        self.target_head = self._head(n_in, hidden, output, dropout)

    @staticmethod
    def _head(n_in: int, hidden: int, output: int, dropout: float) -> nn.Sequential:
        head = nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(), nn.Dropout(dropout),
                             nn.Linear(hidden, output), nn.LeakyReLU())
        for layer in (head[0], head[3]):
            nn.init.xavier_uniform_(layer.weight, gain=1.414)
        return head

    def forward(self, z: torch.Tensor, tf: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (self.tf_head(z)[tf] * self.target_head(z)[target]).sum(dim=1)


# ---- the published compositions -------------------------------------------------------
class GENELink(LinkPredictor):
    """GENELink (Chen and Liu 2022, Bioinformatics 38:4522; github.com/zpliulab/GENELink,
    Code/scGNN.py and Code/main.py): the published graph-attention link predictor, a
    `GraphAttentionEncoder` (`hidden[:2]`, `heads`) and a `TfTargetDotProduct` scorer
    (`hidden[2]`, `output`, `dropout`). It reads no embedding (`ConcatFusion` of the graph
    representation alone).

    How grnlink's version differs from the published code:
    - the 0.01 dropout of the TF and target heads runs in training only (the published
      forward applies it in evaluation too);
    - grnlink's trainer (`grnlink.train.fit.fit`) keeps the epoch with the best validation
      AUROC, the published script the last epoch;
    - the training graph may withhold part of the positive pairs each epoch (edge hold-out),
      shared with the other graph models, when configured.
    The unused `weight_interact` parameter of the published layer is left out.
    """

    def __init__(self, n_features: int, hidden: tuple[int, int, int] = (128, 64, 32), output: int = 16,
                 heads: int | tuple[int, int] = (3, 3), alpha: float = 0.2, attention_dropout: float = 0.5,
                 dropout: float = 0.01):
        encoder = GraphAttentionEncoder(n_features, hidden[:2], (heads, heads) if isinstance(heads, int) else heads,
                                        alpha, attention_dropout)
        super().__init__(encoder, ConcatFusion(0, encoder.out_dim),
                         TfTargetDotProduct(encoder.out_dim, hidden[2], output, dropout))
