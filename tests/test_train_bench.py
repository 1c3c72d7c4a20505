"""bench/train_bench.py's dense-product floor counts what the products compute: the GFLOP of
known products, forward and backward, and a GEMM rate that a product really reaches; its
epoch costs train the same network on the dataset and on a few of its genes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import train_bench  # noqa: E402


def test_dense_products_count_the_forward_and_backward_products_of_a_linear_layer():
    x = torch.randn(64, 32)
    layer = torch.nn.Linear(32, 16)

    def forward_and_backward():
        layer(x).sum().backward()
        return "done"

    result, gflop = train_bench.dense_products(forward_and_backward)
    # forward x @ W^T (addmm), weight gradient (mm); no input gradient: x needs none
    assert result == "done"
    assert gflop == pytest.approx(2 * 2 * 64 * 32 * 16 / 1e9)


def test_dense_products_leave_out_sparse_products_and_other_work():
    x = torch.randn(256, 256, requires_grad=True)
    sparse = torch.eye(256).to_sparse_csr()
    _, gflop = train_bench.dense_products(lambda: torch.sparse.mm(sparse, (x * x + x).exp()).sum().backward())
    assert gflop == 0  # the backward pass multiplies by the sparse transpose: not counted either
    _, gflop = train_bench.dense_products(lambda: torch.bmm(torch.randn(3, 4, 5), torch.randn(3, 5, 6)))
    assert gflop == pytest.approx(2 * 3 * 4 * 5 * 6 / 1e9)


def test_the_gemm_rate_is_what_a_product_of_that_shape_achieves():
    rate = train_bench.gemm_rate(128, 64, 32, repeats=20)
    assert 0.01 < rate < 10_000  # GFLOP/s of one CPU process: neither zero nor beyond any CPU


def test_epoch_costs_time_the_same_network_on_the_dataset_and_on_a_few_of_its_genes():
    threads = torch.get_num_threads()  # epoch_costs sets the process-wide count
    row = train_bench.epoch_costs(train_bench.VARIANTS["scregnet_no_embedding (GCN)"], 1, 8, 0, epochs=2,
                                  small_genes=40)
    torch.set_num_threads(threads)
    assert row["hHEP training pairs"] > 100 * row["40 genes training pairs"] > 0
    assert row["hHEP ms/epoch"] > 0 and row["40 genes ms/epoch"] > 0
