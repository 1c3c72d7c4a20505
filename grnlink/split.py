"""GENELink's per-TF hard-negative train/validation/test split, and its check.

For every TF with at least one target, the candidates are all benchmark genes except the
TF itself: its targets are positives, every other gene a negative. Positives and
negatives are shuffled separately and split `fractions` (67/10/23) per TF, so each TF
appears in train and in test. Per class of n pairs: test gets round(0.23 n) (at least one
when n >= 2), validation round(0.10 n), train the rest; a single positive goes to train or
test at random (BEELINE.md).

`check_split` verifies a split: no (TF, target) pair twice, every TF with targets in train
and test, the positives equal to the network, every other gene a candidate, per-TF sizes
within the rounding of the fractions. `check_published` compares a BEELINE dataset's TFs
with targets, network genes and density with BEELINE's table.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grnlink.errors import InputError

log = logging.getLogger(__name__)

PARTS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.67, 0.10, 0.23)
SPLIT_COLUMNS = ["TF", "Target", "label", "part"]

# BEELINE Table (TFs with targets, genes, density) for TFs+500 and TFs+1000; BEELINE.md.
PUBLISHED = {
    ("hESC", 500): (34, 815, 0.164), ("hESC", 1000): (34, 1260, 0.165),
    ("hHEP", 500): (30, 874, 0.379), ("hHEP", 1000): (31, 1331, 0.377),
    ("mDC", 500): (20, 443, 0.085), ("mDC", 1000): (21, 684, 0.082),
    ("mESC", 500): (88, 977, 0.345), ("mESC", 1000): (89, 1385, 0.347),
    ("mHSC-E", 500): (29, 691, 0.578), ("mHSC-E", 1000): (33, 1177, 0.566),
    ("mHSC-GM", 500): (22, 618, 0.543), ("mHSC-GM", 1000): (23, 1089, 0.565),
    ("mHSC-L", 500): (16, 525, 0.525), ("mHSC-L", 1000): (16, 640, 0.507),
}
# GENELink's mDC folder has 448 network genes where the table says 443 (1.1 %); genes
# are therefore compared within 1.5 % and density within 0.0015 (0.0005 of rounding).
GENE_TOLERANCE = 0.015
DENSITY_TOLERANCE = 0.0015


def hard_negative_split(
    genes: Sequence[str], network: pd.DataFrame, seed: int, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> pd.DataFrame:
    """One row per (TF, candidate gene): columns TF, Target, label, part."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions (train, validation, test) must be >= 0 and sum to 1, got {list(fractions)}")
    rng = np.random.default_rng(seed)
    gene_array = np.asarray(list(genes))
    gene_set = set(gene_array)
    targets = network.groupby("Gene1", sort=True)["Gene2"].apply(lambda s: set(s))
    frames = []
    for tf, positives in targets.items():
        if tf not in gene_set or not positives <= gene_set:
            raise ValueError(f"network edge of {tf!r} names a gene outside the benchmark gene set")
        negatives = gene_array[~np.isin(gene_array, list(positives | {tf}))]
        positive_array = gene_array[np.isin(gene_array, list(positives))]
        for label, candidates in ((1, positive_array), (0, negatives)):
            parts = _assign_parts(len(candidates), fractions, rng)
            frames.append(pd.DataFrame({"TF": tf, "Target": rng.permutation(candidates), "label": label, "part": parts}))
    split = pd.concat(frames, ignore_index=True)
    split["part"] = pd.Categorical(split["part"], categories=PARTS)
    split = split.sort_values(["part", "TF", "Target"]).reset_index(drop=True)
    split["part"] = split["part"].astype(str)
    return split


def part_sizes(n: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    """(train, validation, test) sizes of a class of n pairs; n == 1 is drawn separately."""
    if n == 1:
        raise ValueError("a single pair is assigned at random")
    test = max(1, int(round(fractions[2] * n)))
    validation = int(round(fractions[1] * n))
    return n - validation - test, validation, test


def _assign_parts(n: int, fractions: Sequence[float], rng: np.random.Generator) -> list[str]:
    if n == 0:
        return []
    if n == 1:
        return ["train" if rng.random() < 0.5 else "test"]
    train, validation, test = part_sizes(n, fractions)
    return ["train"] * train + ["validation"] * validation + ["test"] * test


def check_split(
    split: pd.DataFrame, network: pd.DataFrame, genes: Sequence[str], fractions: Sequence[float] = DEFAULT_FRACTIONS,
    source: str | os.PathLike[str] | None = None,
) -> None:
    """Raise InputError (naming `source`) when the split breaks a rule in the module doc."""
    missing = [c for c in SPLIT_COLUMNS if c not in split]
    if missing:
        raise InputError(source, f"split lacks column(s) {missing}")
    bad_parts = sorted(set(split["part"]) - set(PARTS))
    if bad_parts:
        raise InputError(source, f"unknown part(s) {bad_parts}")
    duplicated = split.duplicated(["TF", "Target"])
    if duplicated.any():
        row = split[duplicated].iloc[0]
        raise InputError(source, f"pair ({row.TF}, {row.Target}) appears more than once")
    edges = set(zip(network["Gene1"], network["Gene2"]))
    positives = set(zip(split.loc[split["label"] == 1, "TF"], split.loc[split["label"] == 1, "Target"]))
    if positives != edges:
        raise InputError(source, f"positives differ from the network ({len(positives ^ edges)} pairs)")
    n_genes = len(set(genes))
    for tf, rows in split.groupby("TF"):
        parts = set(rows["part"])
        if not {"train", "test"} <= parts:
            raise InputError(source, f"TF {tf} is missing from {sorted({'train', 'test'} - parts)}")
        if len(rows) != n_genes - 1:
            raise InputError(source, f"TF {tf} has {len(rows)} candidates, expected every other gene ({n_genes - 1})")
        for label, group in rows.groupby("label"):
            if len(group) < 2:
                continue
            observed = group["part"].value_counts().reindex(PARTS, fill_value=0).to_numpy()
            expected = np.asarray(fractions) * len(group)
            if np.any(np.abs(observed - expected) > 1.0 + 1e-9):
                raise InputError(
                    source, f"TF {tf}, label {label}: part sizes {observed.tolist()} are not "
                    f"{[round(f, 2) for f in fractions]} of {len(group)} within rounding",
                )
    n_tfs_with_targets = network["Gene1"].nunique()
    if split["TF"].nunique() != n_tfs_with_targets:
        raise InputError(source, f"split has {split['TF'].nunique()} TFs, the network {n_tfs_with_targets} with targets")


def published_reference(name: str, cfg: dict) -> tuple[str, int] | None:
    """(BEELINE dataset, 500 | 1000) of a genelink or geo dataset entry, else None.

    The BEELINE dataset is the longest published name that the dataset's name starts with
    or that is a folder of its GENELink path; the size comes from `n_top_genes`, a
    `TFs+<n>` folder or a `TFs<n>` suffix of the name, else 500.
    """
    if cfg.get("source") not in ("genelink", "geo"):
        return None
    parts = Path(cfg["path"]).parts if cfg.get("path") else ()
    names = sorted({key[0] for key in PUBLISHED}, key=len, reverse=True)
    dataset = next((n for n in names if name.startswith(n) or n in parts), None)
    if dataset is None:
        return None
    sizes = [cfg.get("n_top_genes")]
    sizes += [int(m.group(1)) for text in (*parts, name) if (m := re.search(r"TFs\+?(\d+)$", text))]
    size = next((s for s in sizes if s), 500)
    return (dataset, size) if (dataset, size) in PUBLISHED else None


def check_published(benchmark: dict, reference: tuple[str, int], source: str | os.PathLike[str] | None = None) -> None:
    """Compare a benchmark summary (`uns["benchmark"]`) with BEELINE's published numbers."""
    tfs, genes, density = PUBLISHED[reference]
    label = f"{reference[0]} TFs+{reference[1]}"
    if benchmark["n_tfs_with_targets"] != tfs:
        raise InputError(source, f"{label}: {benchmark['n_tfs_with_targets']} TFs with targets, published {tfs}")
    if abs(benchmark["n_network_genes"] - genes) > GENE_TOLERANCE * genes:
        raise InputError(source, f"{label}: {benchmark['n_network_genes']} genes, published {genes}")
    if abs(benchmark["density"] - density) > DENSITY_TOLERANCE:
        raise InputError(source, f"{label}: density {benchmark['density']:.4f}, published {density}")


def write_checked_split(
    preprocessed: str | os.PathLike[str], seed: int, output: str | os.PathLike[str],
    fractions: Sequence[float] = DEFAULT_FRACTIONS, reference: tuple[str, int] | None = None,
    strict_reference: bool = True,
) -> pd.DataFrame:
    """Split a preprocessed dataset, check it (and BEELINE's numbers), write it atomically.

    With `strict_reference` false a mismatch with the published numbers is only logged:
    data rebuilt from GEO uses a variance test instead of BEELINE's pseudotime GAM, so its
    gene set can legitimately differ from the published one.
    """
    from grnlink import dataset
    from grnlink.io import write_table

    rna = dataset.load_rna(preprocessed)
    genes = dataset.benchmark_genes(rna)
    network = dataset.training_network(rna)
    if reference is not None:
        try:
            check_published(dict(rna.uns["benchmark"]), reference, preprocessed)
        except InputError as mismatch:
            if strict_reference:
                raise
            log.warning("%s", mismatch)
    split = hard_negative_split(genes, network, seed, fractions)
    check_split(split, network, genes, fractions, output)
    write_table(split, output)
    return split


def read_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A split file (tab-separated TF, Target, label, part)."""
    from grnlink.io import read_table

    return read_table(path, required=SPLIT_COLUMNS, sep="\t", dtype={"TF": str, "Target": str})
