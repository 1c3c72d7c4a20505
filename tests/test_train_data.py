"""Features, splits, training graphs, label noise and edge perturbation of the train stage."""

import numpy as np
import pandas as pd
import pytest
import torch

from grnlink.errors import InputError
from grnlink.train import data as tdata
from grnlink.train import graphs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


GENES = ["A", "B", "C", "D", "E"]


def _edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in edge_index.t()}


def test_zscore_rows_standardises_and_zeroes_constant_rows():
    matrix = np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    z = tdata.zscore_rows(matrix)
    assert np.allclose(z[0].mean(), 0, atol=1e-6) and np.isclose(z[0].std(), 1, atol=1e-5)
    assert np.array_equal(z[1], np.zeros(4))


def _write_split(tmp_path, rows):
    path = tmp_path / "split.tsv"
    pd.DataFrame(rows, columns=["TF", "Target", "label", "part"]).to_csv(path, sep="\t", index=False)
    return path


VALID_ROWS = [
    ("A", "B", 1, "train"), ("A", "C", 0, "train"),
    ("A", "D", 1, "validation"), ("A", "E", 0, "validation"),
    ("B", "C", 1, "test"), ("B", "D", 0, "test"),
]


def test_read_split_adds_gene_indices(tmp_path):
    split = tdata.read_split(_write_split(tmp_path, VALID_ROWS), GENES)
    assert split["tf"].tolist() == [0, 0, 0, 0, 1, 1]
    assert split["target"].tolist() == [1, 2, 3, 4, 2, 3]


@pytest.mark.parametrize(
    "bad_row, message",
    [(("A", "Z", 1, "train"), "'Z' is not a benchmark gene"), (("A", "B", 1, "holdout"), "invalid part")],
)
def test_read_split_names_file_and_line_of_bad_rows(tmp_path, bad_row, message):
    path = _write_split(tmp_path, VALID_ROWS + [bad_row])
    with pytest.raises(InputError, match=message) as err:
        tdata.read_split(path, GENES)
    assert str(path) in str(err.value) and "line 8" in str(err.value)


def test_read_split_requires_both_classes_in_train_only(tmp_path):
    rows = [r for r in VALID_ROWS if not (r[3] == "train" and r[2] == 0)]
    with pytest.raises(InputError, match="train part"):
        tdata.read_split(_write_split(tmp_path, rows), GENES)
    rows = [r for r in VALID_ROWS if r[3] != "validation"]
    assert "validation" not in set(tdata.read_split(_write_split(tmp_path, rows), GENES)["part"])


def test_flip_labels_flips_the_requested_fraction_reproducibly():
    labels = np.array([1] * 30 + [0] * 70)
    flipped = tdata.flip_labels(labels, 0.04, np.random.default_rng(7))
    assert (flipped != labels).sum() == 4
    assert np.array_equal(flipped, tdata.flip_labels(labels, 0.04, np.random.default_rng(7)))
    assert labels.sum() == 30  # the input is left as it was


def test_positive_graph_is_undirected_without_self_loops():
    pairs = pd.DataFrame({"tf": [0, 0, 1, 2, 2], "target": [1, 2, 1, 3, 0]})
    graph = graphs.positive_graph(pairs, np.array([1, 0, 1, 1, 1]), n_nodes=5)
    assert _edge_set(graph) == {(0, 1), (1, 0), (2, 3), (3, 2), (0, 2), (2, 0)}
    assert graphs.n_undirected_edges(graph) == 3


def test_coexpression_pool_holds_the_most_correlated_new_pairs():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 50))
    features = np.vstack([
        base[0], base[1],
        base[0] + 0.01 * rng.normal(size=50),   # gene 2 ~ gene 0 (existing edge below)
        -base[1] + 0.1 * rng.normal(size=50),   # gene 3 ~ -gene 1 (strong, negative)
        base[0] + 1.0 * rng.normal(size=50),    # gene 4 ~ gene 0 (weaker)
        rng.normal(size=50),
    ])
    existing = graphs.undirected_graph(np.array([0]), np.array([2]), 6)
    pool = graphs.coexpression_pool(features, existing, n_pairs=2)
    assert pool.shape == (2, 2) and (pool[0] < pool[1]).all()  # one direction, smaller index first
    assert (1, 3) in _edge_set(pool)
    assert (0, 2) not in _edge_set(pool)


def test_inferred_grn_edges_are_the_strongest_pairs_undirected():
    strength = np.zeros((5, 5))
    strength[0, 1], strength[1, 0], strength[0, 3], strength[1, 4], strength[0, 2] = 0.9, 0.2, 0.5, 0.4, 0.0
    edges = graphs.inferred_grn_edges(strength, n_edges=2)
    assert _edge_set(edges) == {(0, 1), (1, 0), (0, 3), (3, 0)}
    # only positive strengths are edges, each pair once
    assert graphs.n_undirected_edges(graphs.inferred_grn_edges(strength, n_edges=10)) == 3


def test_prior_edges_keep_the_most_important_benchmark_edges():
    tables = [
        pd.DataFrame({"TF": ["A", "A", "B"], "target": ["C", "X", "D"], "importance": [0.5, 9.0, 0.1]}),
        pd.DataFrame({"TF": ["A", "C"], "target": ["C", "E"], "importance": [0.05, 0.3]}),
    ]
    existing = graphs.undirected_graph(np.array([0]), np.array([1]), 5)
    added = graphs.prior_edges(tables, GENES, existing, n_edges=2)
    # A->X is outside the benchmark genes; A->C keeps its larger importance 0.5
    assert _edge_set(added) == {(0, 2), (2, 0), (2, 4), (4, 2)}


def test_merge_graphs_is_a_union():
    one = graphs.undirected_graph(np.array([0]), np.array([1]), 4)
    two = graphs.undirected_graph(np.array([0, 2]), np.array([1, 3]), 4)
    assert _edge_set(graphs.merge_graphs(one, two, n_nodes=4)) == {(0, 1), (1, 0), (2, 3), (3, 2)}


def test_pearson_matrix_matches_numpy_and_gives_zero_for_constant_genes():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(6, 40))
    features[5] = 3.0
    r = tdata.pearson_matrix(features)
    np.testing.assert_allclose(r[:5, :5], np.corrcoef(features[:5]), atol=1e-6)
    assert np.all(r[5] == 0) and r.dtype == np.float32
