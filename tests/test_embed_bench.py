"""bench/embed_bench.py runs on CPU at the tiny size, and its agreement check catches differences."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grnlink.embed.extract import PooledStates
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import embed_bench  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run() -> embed_bench.ModelRun:
    import torch

    threads = torch.get_num_threads()  # main sets the process-wide count
    (run,) = embed_bench.main(["--device", "cpu", "--model", "tiny", "--cells", "10", "--threads", "1"])
    torch.set_num_threads(threads)
    return run


def test_tiny_bench_times_both_paths_on_the_same_cells(tiny_run):
    assert tiny_run.reference.implementation == "reference" and tiny_run.grnlink.implementation == "grnlink"
    for path in (tiny_run.reference, tiny_run.grnlink):
        assert path.cells == 10
        assert path.cells_per_s > 0 and path.tflops > 0
        assert path.peak_fraction is None and path.peak_memory_gib is None
    assert tiny_run.agrees and tiny_run.error < 1e-4


def test_tiny_cells_have_a_spread_of_lengths_up_to_the_input_size(tiny_run):
    assert tiny_run.lengths.max() == embed_bench.TINY_CONFIG["max_position_embeddings"]
    assert tiny_run.lengths.min() < tiny_run.lengths.max() // 2


def test_report_has_a_row_per_path_and_the_speedup(tiny_run):
    import torch

    text = embed_bench.report([tiny_run], torch.device("cpu"), threads=1)
    rows = [line for line in text.splitlines() if line.startswith("| tiny |")]
    assert [row.split("|")[2].split()[0] for row in rows] == ["reference", "grnlink"]
    assert "Speed-up of grnlink" in text and "agree" in text


def pooled(sums: np.ndarray, counts: np.ndarray) -> PooledStates:
    return PooledStates(sums=sums, counts=counts)


def test_embedding_error_is_zero_for_equal_and_large_for_different_embeddings():
    rng = np.random.default_rng(0)
    sums, counts = rng.normal(size=(2, 3, 8)), np.array([[1, 2, 0], [3, 1, 1]])
    assert embed_bench.embedding_error(pooled(sums, counts), pooled(sums.copy(), counts)) == 0
    shifted = sums.copy()
    shifted[1, 2] *= 1.01  # one gene in one group off by 1%
    error = embed_bench.embedding_error(pooled(shifted, counts), pooled(sums, counts))
    assert error == pytest.approx(0.01)
    assert error > embed_bench.TOLERANCE["cpu"] and error < embed_bench.TOLERANCE["cuda"]


def test_embedding_error_ignores_unseen_slots_and_fails_on_different_counts():
    sums, counts = np.ones((1, 2, 4)), np.array([[2, 0]])
    noisy = sums.copy()
    noisy[0, 1] = 5.0  # a slot no cell reached
    assert embed_bench.embedding_error(pooled(noisy, counts), pooled(sums, counts)) == 0
    assert embed_bench.embedding_error(pooled(sums, np.array([[1, 0]])), pooled(sums, counts)) == float("inf")


def test_dense_bf16_peak_prefers_the_specific_gpu_name():
    assert embed_bench.dense_bf16_peak("NVIDIA H200") == 989e12
    assert embed_bench.dense_bf16_peak("NVIDIA H100 PCIe") == 756e12
    assert embed_bench.dense_bf16_peak("NVIDIA L40S") == 362e12
    assert embed_bench.dense_bf16_peak("NVIDIA GeForce GTX 1080") is None


def test_model_flops_count_attention_quadratically():
    one = embed_bench.model_flops_per_cell(np.array([100]), layers=1, hidden=64, intermediate=128)
    two = embed_bench.model_flops_per_cell(np.array([200]), layers=1, hidden=64, intermediate=128)
    linear = 2 * (4 * 64 * 64 + 2 * 64 * 128)
    assert one == linear * 100 + 4 * 100**2 * 64
    assert two - 2 * one == 4 * 64 * (200**2 - 2 * 100**2)
