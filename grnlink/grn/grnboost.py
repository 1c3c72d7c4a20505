"""GRNBoost2: per-target stochastic gradient boosting of each gene on the TFs.

Two backends (`grn.backend`) fit GRNBoost2's model with its parameters:

- rustscenic (`rustscenic.grn.infer`): Rust histogram gradient boosting with arboreto's
  out-of-bag early stopping, on `n_jobs` threads; the network does not depend on them.
- arboreto, the reference: its `grnboost2()` cannot run on current dask, so the per-target
  function `arboreto.core.infer_partial_network` is called directly: in this process (one
  core), in a joblib process pool (several cores), or as plain tasks on an existing dask
  cluster. Every target is fitted with the same seed, so the three ways give the same
  network.

The two give equally accurate networks with different rankings (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from grnlink.settings import GrnBoostSettings

log = logging.getLogger(__name__)

LINK_COLUMNS = ["TF", "target", "importance"]
BATCHES_PER_WORKER = 8
# Starting worker processes costs seconds; below this many targets per worker one process is faster.
MIN_TARGETS_PER_PROCESS = 50
TARGETS_PER_DASK_TASK = 10


def infer_links(
    expression: np.ndarray,
    genes: Sequence[str],
    tfs: Sequence[str],
    targets: Sequence[str],
    settings: GrnBoostSettings,
    n_jobs: int = 1,
    scheduler_address: str | None = None,
    min_targets_per_process: int = MIN_TARGETS_PER_PROCESS,
) -> pd.DataFrame:
    """TF -> target importances (`TF, target, importance`, importance > 0) for `targets`.

    `expression` is cells x `genes` (dense). Each target is regressed on every TF but
    itself, by `settings.backend`. rustscenic runs on `n_jobs` threads. arboreto runs on
    the dask cluster at `scheduler_address` when given, otherwise on up to `n_jobs` local
    processes (at least `min_targets_per_process` targets each). Rows are sorted by target
    order, then by decreasing importance, then TF name: the output does not depend on the
    scheduling.
    """
    expression = np.asarray(expression, dtype=np.float32)
    index = {gene: i for i, gene in enumerate(genes)}
    missing = [g for g in [*tfs, *targets] if g not in index]
    if missing:
        raise ValueError(f"genes not in the expression matrix: {missing[:5]}")
    target_names = [t for t in targets if not (len(tfs) == 1 and t == tfs[0])]
    if settings.backend == "rustscenic":
        if scheduler_address:
            raise ValueError("a dask scheduler runs arboreto's regressions: use backend 'arboreto'")
        return _infer_rustscenic(expression, index, list(tfs), target_names, settings, n_jobs)
    tf_matrix = np.ascontiguousarray(expression[:, [index[t] for t in tfs]])
    target_matrix = np.ascontiguousarray(expression[:, [index[t] for t in target_names]])
    n_jobs = max(1, min(n_jobs, len(target_names) // max(1, min_targets_per_process)))
    if scheduler_address:  # many small tasks, so that a cluster's workers all get some
        batches = _batches(len(target_names), -(-len(target_names) // TARGETS_PER_DASK_TASK))
    else:
        batches = _batches(len(target_names), n_jobs * BATCHES_PER_WORKER)
    args = [(tf_matrix, list(tfs), [target_names[i] for i in b], target_matrix[:, b], settings) for b in batches]
    if scheduler_address:
        parts = _run_on_dask(scheduler_address, args)
    elif n_jobs > 1 and len(batches) > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, backend="loky")(delayed(infer_batch)(*a) for a in args)
    else:
        parts = [infer_batch(*a) for a in args]
    links = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=LINK_COLUMNS)], ignore_index=True)
    return sort_links(links, target_names)


def _infer_rustscenic(expression: np.ndarray, index: dict[str, int], tfs: list[str], targets: list[str],
                      settings: GrnBoostSettings, n_jobs: int) -> pd.DataFrame:
    """rustscenic regresses every gene of its matrix: give it the TFs and the targets only."""
    # rayon sizes its thread pool from this variable once, when the pool starts (the first
    # call in the process); a job process runs one GRN.
    os.environ["RAYON_NUM_THREADS"] = str(max(1, n_jobs))
    from rustscenic.grn import infer

    names = list(dict.fromkeys([*tfs, *targets]))
    matrix = np.ascontiguousarray(expression[:, [index[g] for g in names]])
    links = infer((matrix, names), tfs, **settings.rustscenic_kwargs(), verbose=False)
    links = links[links["target"].isin(targets) & (links["TF"] != links["target"])]
    return sort_links(links[LINK_COLUMNS], targets)


def infer_batch(
    tf_matrix: np.ndarray,
    tfs: list[str],
    target_names: list[str],
    target_matrix: np.ndarray,
    settings: GrnBoostSettings,
) -> pd.DataFrame:
    """Fit one boosting model per target of the batch (one column of `target_matrix` each)
    with arboreto."""
    from arboreto.core import infer_partial_network

    kwargs = settings.regressor_kwargs()
    parts = []
    for j, target in enumerate(target_names):
        y = target_matrix[:, j]
        if np.ptp(y) == 0:  # a constant gene has no regulators to find
            continue
        links = infer_partial_network(
            "GBM", kwargs, tf_matrix, tfs, target, y,
            early_stop_window_length=settings.early_stop_window, seed=settings.seed,
        )
        parts.append(links)
    if not parts:
        return pd.DataFrame(columns=LINK_COLUMNS)
    return pd.concat(parts, ignore_index=True)[LINK_COLUMNS]


def sort_links(links: pd.DataFrame, target_order: Sequence[str]) -> pd.DataFrame:
    """Deterministic order: targets as given, then importance descending, then TF name."""
    links = links.astype({"TF": str, "target": str, "importance": float})
    rank = pd.Series(np.arange(len(target_order)), index=list(target_order))
    order = np.lexsort((links["TF"].to_numpy(), -links["importance"].to_numpy(), rank[links["target"]].to_numpy()))
    return links.iloc[order].reset_index(drop=True)


def _batches(n: int, n_batches: int) -> list[np.ndarray]:
    """Interleaved batches so that slow and fast targets mix across workers."""
    n_batches = max(1, min(n, n_batches))
    return [np.arange(start, n, n_batches) for start in range(n_batches)]


def _run_on_dask(scheduler_address: str, args: list[tuple]) -> list[pd.DataFrame]:
    from distributed import Client

    log.info("GRNBoost2: %d batches on the dask cluster at %s", len(args), scheduler_address)
    with Client(scheduler_address) as client:
        tf_matrix = client.scatter(args[0][0], broadcast=True)
        futures = [client.submit(infer_batch, tf_matrix, *a[1:], pure=False) for a in args]
        return client.gather(futures)
