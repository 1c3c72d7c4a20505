"""Train/validation/test splits of a benchmark's candidate pairs, one per protocol, and their checks.

The candidates of a dataset are, for every TF with at least one target, every other
benchmark gene: its targets are positives, every other gene a negative. The protocols:

- `genelink`: GENELink's per-TF hard-negative split. Positives and negatives of each TF are
  shuffled separately and split `fractions` (67/10/23) per TF, so each TF appears in train
  and in test (transductive). Per class of n pairs: test gets round(0.23 n) (at least one
  when n >= 2), validation round(0.10 n), train the rest; a single positive goes to train or
  test at random (BEELINE.md).
- `tf_holdout`: the TFs with targets are split into `folds`; every pair of a test TF is
  test, and validation TFs (a `fractions[1]` share of the TFs, at least one) are drawn from
  the others, every pair of theirs validation. A held-out TF appears in no pair of another
  part, not even as a target: pairs of training TFs with a held-out TF as target are left
  out of the split (pairs of validation TFs with a test TF as target likewise).
- `gene_holdout`: the benchmark genes that are not TFs are split into `folds`; every pair
  whose target is a test gene is test, every pair whose target is a validation gene (a
  `fractions[1]` share, at least one) validation, the rest train. A held-out gene is in no
  training or validation pair.

Folds: split seed s uses fold `s % folds` of the partition drawn with seed `s // folds`, so
seeds 0 .. folds-1 test every TF (gene) exactly once; validation is drawn with seed s.

`check_split` verifies a split against its protocol's rules and fails naming the file.
`check_published` compares a BEELINE dataset's TFs with targets, network genes and density
with BEELINE's table.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grnlink.errors import InputError
from grnlink.settings import DatasetSettings, GenelinkDataset, GeoDataset, SimulatedDataset

log = logging.getLogger(__name__)

PARTS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.67, 0.10, 0.23)
PROTOCOLS = ("genelink", "tf_holdout", "gene_holdout")
DEFAULT_FOLDS = 5
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
    frames = []
    for tf, positives in _targets_by_tf(gene_array, network):
        negatives = gene_array[~np.isin(gene_array, list(positives | {tf}))]
        positive_array = gene_array[np.isin(gene_array, list(positives))]
        for label, candidates in ((1, positive_array), (0, negatives)):
            parts = _assign_parts(len(candidates), fractions, rng)
            frames.append(pd.DataFrame({"TF": tf, "Target": rng.permutation(candidates), "label": label, "part": parts}))
    return _sorted_split(pd.concat(frames, ignore_index=True))


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


def _targets_by_tf(gene_array: np.ndarray, network: pd.DataFrame) -> Iterator[tuple[str, set[str]]]:
    """(TF, set of its targets) for every TF of the network, sorted; every gene must be a benchmark gene."""
    gene_set = set(gene_array)
    for tf, targets in network.groupby("Gene1", sort=True)["Gene2"]:
        positives = set(targets)
        if tf not in gene_set or not positives <= gene_set:
            raise ValueError(f"network edge of {tf!r} names a gene outside the benchmark gene set")
        yield tf, positives


def candidate_pairs(genes: Sequence[str], network: pd.DataFrame) -> pd.DataFrame:
    """Every (TF with targets, other benchmark gene) pair with its label, TFs sorted."""
    gene_array = np.asarray(list(genes))
    frames = []
    for tf, positives in _targets_by_tf(gene_array, network):
        others = gene_array[gene_array != tf]
        frames.append(pd.DataFrame({"TF": tf, "Target": others, "label": np.isin(others, list(positives)).astype(int)}))
    return pd.concat(frames, ignore_index=True)


def holdout_shortfall(n_items: int, folds: int, validation_share: float) -> str | None:
    """Why `n_items` TFs (genes) cannot be held out in `folds` with a validation share, or None."""
    n_test = -(-n_items // folds) if n_items else 0
    n_validation = _n_validation(n_items, validation_share)
    if n_items < folds or n_items - n_test - n_validation < 1:
        return f"{n_items} to hold out in {folds} folds leave no test fold, validation and training part"
    return None


def _known_holdout_sizes(settings: DatasetSettings) -> dict[str, tuple[int, str]]:
    """TFs with targets / non-TF genes of a dataset known before any job runs, with where
    the number comes from: a simulated dataset's `n_tfs` (an upper bound), a GENELink
    folder's labels, genes and TFs. Other sources are checked by the split job."""
    if isinstance(settings, SimulatedDataset):
        return {"tf_holdout": (settings.n_tfs, "n_tfs")}
    if not isinstance(settings, GenelinkDataset):
        return {}
    from grnlink.genelink import FILES, genelink_files

    files = genelink_files(settings.path)
    try:
        regulators = pd.read_csv(files["labels"], index_col=0)["TF"].nunique()
        n_genes, n_tfs = (len(pd.read_csv(files[role], index_col=0)) for role in ("targets", "tfs"))
    except (OSError, KeyError, ValueError):
        return {}  # unreadable folders fail in the preprocess job, naming the file
    return {"tf_holdout": (regulators, f"path ({FILES['labels']})"),
            "gene_holdout": (n_genes - n_tfs, f"path ({FILES['targets']}, {FILES['tfs']})")}


def holdout_problems(datasets: Mapping[str, DatasetSettings], protocols: Sequence[str], *, folds: int,
                     validation_share: float) -> list[str]:
    """One message per dataset and held-out protocol whose folds cannot be filled, naming
    the config keys involved."""
    problems = []
    for name, settings in datasets.items():
        for protocol, (n_items, origin) in _known_holdout_sizes(settings).items():
            shortfall = holdout_shortfall(n_items, folds, validation_share) if protocol in protocols else None
            if shortfall:
                what = "TFs with targets" if protocol == "tf_holdout" else "non-TF genes"
                problems.append(f"key 'split.protocols': {protocol} on dataset {name}: {shortfall} "
                                f"({n_items} {what} from datasets.{name}.{origin}; lower split.holdout_folds)")
    return problems


def _n_validation(n_items: int, share: float) -> int:
    return max(1, int(round(share * n_items))) if share > 0 else 0


def _held_out(items: Sequence[str], seed: int, folds: int, validation_share: float) -> tuple[set[str], set[str]]:
    """(test, validation) items of split seed `seed` (see the module doc)."""
    shortfall = holdout_shortfall(len(items), folds, validation_share)
    if shortfall:
        raise ValueError(shortfall)
    block, fold = divmod(seed, folds)
    order = np.random.default_rng([block, folds]).permutation(np.asarray(sorted(items)))
    test = set(order[fold::folds])
    rest = np.asarray(sorted(set(items) - test))
    validation = np.random.default_rng(seed).choice(rest, _n_validation(len(items), validation_share), replace=False)
    return test, set(validation)


def _sorted_split(split: pd.DataFrame) -> pd.DataFrame:
    split = split.assign(part=pd.Categorical(split["part"], categories=PARTS))
    split = split.sort_values(["part", "TF", "Target"]).reset_index(drop=True)
    split["part"] = split["part"].astype(str)
    return split[SPLIT_COLUMNS]


def tf_holdout_split(
    genes: Sequence[str], network: pd.DataFrame, seed: int, *, folds: int = DEFAULT_FOLDS,
    validation_share: float = DEFAULT_FRACTIONS[1],
) -> pd.DataFrame:
    """Held-out TFs: one row per kept candidate pair, columns TF, Target, label, part."""
    pairs = candidate_pairs(genes, network)
    test, validation = _held_out(sorted(network["Gene1"].unique()), seed, folds, validation_share)
    part = np.where(pairs["TF"].isin(test), "test", np.where(pairs["TF"].isin(validation), "validation", "train"))
    pairs = pairs.assign(part=part)
    hidden_from = {"train": test | validation, "validation": test, "test": set()}
    leaks = np.array([target in hidden_from[p] for p, target in zip(pairs["part"], pairs["Target"])], dtype=bool)
    return _sorted_split(pairs[~leaks])


def gene_holdout_split(
    genes: Sequence[str], network: pd.DataFrame, seed: int, *, tfs: Sequence[str], folds: int = DEFAULT_FOLDS,
    validation_share: float = DEFAULT_FRACTIONS[1],
) -> pd.DataFrame:
    """Held-out target genes (benchmark genes that are not in `tfs`, nor regulators of the
    network): one row per candidate pair, columns TF, Target, label, part."""
    pairs = candidate_pairs(genes, network)
    not_tfs = set(tfs) | set(network["Gene1"])
    test, validation = _held_out([g for g in genes if g not in not_tfs], seed, folds, validation_share)
    part = np.where(pairs["Target"].isin(test), "test", np.where(pairs["Target"].isin(validation), "validation", "train"))
    return _sorted_split(pairs.assign(part=part))


def protocol_split(
    protocol: str, genes: Sequence[str], network: pd.DataFrame, seed: int, *, tfs: Sequence[str],
    fractions: Sequence[float] = DEFAULT_FRACTIONS, folds: int = DEFAULT_FOLDS,
) -> pd.DataFrame:
    """The split of `protocol` (see the module doc) for split seed `seed`."""
    if protocol == "genelink":
        return hard_negative_split(genes, network, seed, fractions)
    if protocol == "tf_holdout":
        return tf_holdout_split(genes, network, seed, folds=folds, validation_share=fractions[1])
    if protocol == "gene_holdout":
        return gene_holdout_split(genes, network, seed, tfs=tfs, folds=folds, validation_share=fractions[1])
    raise ValueError(f"unknown split protocol {protocol!r}; choose one of {list(PROTOCOLS)}")


def check_split(
    split: pd.DataFrame, network: pd.DataFrame, genes: Sequence[str], *, protocol: str = "genelink",
    tfs: Sequence[str] = (), fractions: Sequence[float] = DEFAULT_FRACTIONS,
    source: str | os.PathLike[str] | None = None,
) -> None:
    """Raise InputError (naming `source`) when the split breaks a rule of its protocol.

    Every protocol: the four columns, known parts, no pair twice, every row a candidate pair
    with the network's label, both classes in the test part. Then the protocol's own rules
    (module doc): `genelink` per-TF part sizes and every TF in train and test; `tf_holdout`
    and `gene_holdout` the held-out TFs (genes) in no pair of another part.
    """
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
    expected = np.fromiter((pair in edges for pair in zip(split["TF"], split["Target"])), dtype=bool, count=len(split))
    wrong = expected != (split["label"].to_numpy() == 1)
    if wrong.any():
        row = split[wrong].iloc[0]
        raise InputError(source, f"pair ({row.TF}, {row.Target}) has label {row.label}, the network says {int(not row.label)}")
    test_labels = set(split.loc[split["part"] == "test", "label"])
    if test_labels != {0, 1}:
        raise InputError(source, "the test part needs positive and negative pairs")
    checks = {"genelink": _check_genelink, "tf_holdout": _check_tf_holdout, "gene_holdout": _check_gene_holdout}
    if protocol not in checks:
        raise ValueError(f"unknown split protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    n_candidates = _leak_free_candidates(split, network, genes, protocol, tfs, source)
    checks[protocol](split, fractions=fractions, tfs=tfs, source=source)
    if len(split) != n_candidates:
        raise InputError(source, f"split has {len(split)} pairs, the {protocol} protocol keeps {n_candidates} candidates")


def _leak_free_candidates(
    split: pd.DataFrame, network: pd.DataFrame, genes: Sequence[str], protocol: str, tfs: Sequence[str],
    source: str | os.PathLike[str] | None,
) -> int:
    """How many candidate pairs the protocol keeps; fails on a TF or gene outside the benchmark."""
    gene_set = set(genes)
    regulators = set(network["Gene1"])
    unknown = sorted((set(split["TF"]) - regulators) | (set(split["Target"]) - gene_set))
    if unknown:
        raise InputError(source, f"{unknown[0]!r} is not a TF with targets / benchmark gene of the network")
    if (split["TF"] == split["Target"]).any():
        raise InputError(source, "a pair regulates itself")
    n_other = len(gene_set) - 1
    if protocol != "tf_holdout":
        return len(regulators) * n_other
    held = {part: set(split.loc[split["part"] == part, "TF"]) for part in PARTS}
    absent = sorted(regulators - set(split["TF"]))
    if absent:
        raise InputError(source, f"TF {absent[0]} has targets but no pair in the split")
    return (len(held["test"]) * n_other + len(held["validation"]) * (n_other - len(held["test"]))
            + len(held["train"]) * (n_other - len(held["test"]) - len(held["validation"])))


def _check_genelink(split: pd.DataFrame, *, fractions: Sequence[float], tfs: Sequence[str],
                    source: str | os.PathLike[str] | None) -> None:
    for tf, rows in split.groupby("TF"):
        parts = set(rows["part"])
        if not {"train", "test"} <= parts:
            raise InputError(source, f"TF {tf} is missing from {sorted({'train', 'test'} - parts)}")
        for label, group in rows.groupby("label"):
            if len(group) < 2:
                continue
            observed = group["part"].value_counts().reindex(PARTS, fill_value=0).to_numpy()
            if np.any(np.abs(observed - np.asarray(fractions) * len(group)) > 1.0 + 1e-9):
                raise InputError(
                    source, f"TF {tf}, label {label}: part sizes {observed.tolist()} are not "
                    f"{[round(f, 2) for f in fractions]} of {len(group)} within rounding",
                )


def _check_tf_holdout(split: pd.DataFrame, *, fractions: Sequence[float], tfs: Sequence[str],
                      source: str | os.PathLike[str] | None) -> None:
    parts_per_tf = split.groupby("TF")["part"].nunique()
    if (parts_per_tf > 1).any():
        raise InputError(source, f"held-out TF {parts_per_tf[parts_per_tf > 1].index[0]} has pairs in several parts")
    held = {part: set(split.loc[split["part"] == part, "TF"]) for part in PARTS}
    for part, hidden in (("train", held["test"] | held["validation"]), ("validation", held["test"])):
        seen = split.loc[(split["part"] == part) & split["Target"].isin(hidden), "Target"]
        if not seen.empty:
            where = "test" if seen.iloc[0] in held["test"] else "validation"
            raise InputError(source, f"{where} TF {seen.iloc[0]} appears as a target in the {part} part")


def _check_gene_holdout(split: pd.DataFrame, *, fractions: Sequence[float], tfs: Sequence[str],
                        source: str | os.PathLike[str] | None) -> None:
    for part in ("test", "validation"):
        held = set(split.loc[split["part"] == part, "Target"])
        regulators = held & (set(split["TF"]) | set(tfs))
        if regulators:
            raise InputError(source, f"held-out {part} gene {sorted(regulators)[0]} is a TF")
        elsewhere = split.loc[(split["part"] != part) & split["Target"].isin(held), "Target"]
        if not elsewhere.empty:
            raise InputError(source, f"{part} gene {elsewhere.iloc[0]} is also a target outside the {part} part")


def published_reference(name: str, settings: DatasetSettings) -> tuple[str, int] | None:
    """(BEELINE dataset, 500 | 1000) of a genelink or geo dataset, else None.

    The BEELINE dataset is the longest published name that the dataset's name starts with
    or that is a folder of its GENELink path; the size comes from a geo dataset's
    `n_top_genes`, a `TFs+<n>` folder or a `TFs<n>` suffix of the name, else 500.
    """
    if isinstance(settings, GenelinkDataset):
        parts, n_top_genes = Path(settings.path).parts, None
    elif isinstance(settings, GeoDataset):
        parts, n_top_genes = (), settings.n_top_genes
    else:
        return None
    names = sorted({key[0] for key in PUBLISHED}, key=len, reverse=True)
    dataset = next((n for n in names if name.startswith(n) or n in parts), None)
    if dataset is None:
        return None
    sizes = [n_top_genes]
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
    preprocessed: str | os.PathLike[str], seed: int, output: str | os.PathLike[str], *, protocol: str = "genelink",
    fractions: Sequence[float] = DEFAULT_FRACTIONS, folds: int = DEFAULT_FOLDS,
    reference: tuple[str, int] | None = None, strict_reference: bool = True,
) -> pd.DataFrame:
    """Split a preprocessed dataset by `protocol`, check it (and BEELINE's numbers), write it
    atomically. A dataset too small for the protocol's folds fails naming `preprocessed`.

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
    tfs = dataset.benchmark_tfs(rna)
    try:
        split = protocol_split(protocol, genes, network, seed, tfs=tfs, fractions=fractions, folds=folds)
    except ValueError as small:
        raise InputError(preprocessed, f"split protocol {protocol}: {small}") from None
    check_split(split, network, genes, protocol=protocol, tfs=tfs, fractions=fractions, source=output)
    write_table(split, output)
    return split


def read_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A split file (tab-separated TF, Target, label, part)."""
    from grnlink.io import read_table

    return read_table(path, required=SPLIT_COLUMNS, sep="\t", dtype={"TF": str, "Target": str})
