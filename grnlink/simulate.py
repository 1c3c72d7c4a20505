"""Simulated paired RNA + ATAC data with a known, peak-mediated regulatory network.

The model, in the order it is drawn:

1. Genome: genes laid out on chromosomes with a TSS and strand; every gene owns a handful
   of peaks (`SimulationParams.peaks_per_gene`): its enhancers, promoter decoys and other
   peaks within `PROXIMAL_WINDOW` (50 kb) of its TSS, except the distal enhancers (3.). The remaining peaks are background, 60-150 kb downstream of a TSS.
2. Network: TFs in two layers (master TFs; TFs regulated by masters), every other gene
   regulated by TFs. A shared core of signed edges is active in every cell type; on top,
   each cell type gets its own specific edges.
3. Peaks mediate regulation: every edge is carried by an enhancer of its target that holds
   the TF's motif and is accessible in exactly the cell types where the edge is active
   (shared edges: a constitutive peak; specific edges: a peak open only in that cell type).
   `distal_enhancer_share` of the enhancers lie 50-200 kb from the target's TSS, on either
   side (`DISTAL_ENHANCER_MIN`, `DISTAL_ENHANCER_MAX`): beyond a proximal-only window, so some
   true edges are reachable only with a wider one (the grn stage's default, 250 kb, also
   reaches the background peaks). Every gene also has
   `promoter_decoys_per_gene` promoter decoys: peaks near its TSS, open in at least one cell
   type (half of them in all), with the motif of a TF that does not regulate it. The motif
   table is a scan's output: it lists `motif_recall` of the true sites, the decoys' motifs
   and decoy hits in random peaks (motifs in peaks through which the TF does not act). So a
   TF with a motif in an open peak near a gene is evidence, not proof: at the demo's
   defaults (seed 1) about a fifth of the TF -> gene pairs with the TF's motif in a peak open
   in some cell type within 50 kb of the gene's TSS are true edges, and they hold about
   72 % of the true edges; |Pearson| with these pairs ranked first still beats |Pearson|
   alone clearly (AUPR 0.36 against 0.18 on the union of the cell types' edges).
4. Expression: SERGIO's steady-state model. Master TFs get a cell-type level times a
   per-cell log-normal fluctuation; every other gene, in topological order, a basal rate
   plus the sum of Hill functions (n = 2, half-response at the regulator's median level;
   activation x^n / (h^n + x^n), repression h^n / (h^n + x^n)) of its regulators active in
   the cell's type, times log-normal intrinsic noise. The regulator's per-cell level
   propagates to its targets, so edges leave a correlation signal within a cell type.
5. Technical noise: per-cell library sizes, negative-binomial counts (gamma-Poisson) and
   SERGIO-style logistic dropout of low-expressed entries; ATAC counts are Poisson draws
   from the per-cell-type accessibility times a per-cell depth. An open enhancer's
   accessibility also follows its regulators in each cell (TF binding opens chromatin):
   times 0.2 + 1.6 x their mean Hill occupancy, so a true peak-gene link correlates with its
   target's expression within a cell type (negatively for repressors), a decoy's does not.

Why not harissa: harissa's bursty PDMP simulates each cell as a trajectory; measured
here (harissa 3.1.2, numba on, 600 genes, 60 TFs, 100 h after a 5 h burn-in) it takes
0.29 s per cell plus 12 s of JIT on an idle machine (bench/preprocess_stage.py), i.e. about
7 minutes for the 3,000-cell demo on 2 cores, far beyond the simulator's budget (well under
a minute). The steady-state Hill model above is vectorised over cells and takes 1 to 2
seconds. The demo's defaults give |Pearson| AUROC of 0.7 to 0.75 on the cell-type-specific
edges within their cell type (0.71 with seed 1; tests/test_simulate.py).

`write_raw` writes everything in the formats real data arrives in (10x Matrix Market
folders, gene annotation, motif hits, cell-type labels, ground truth); bytes depend on the
seed only (gzip headers carry no time stamp or file name).
"""

from __future__ import annotations

import bisect
import gzip
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from grnlink.io import atomic_path
from grnlink.readers import TENX_BARCODES, TENX_FEATURES, TENX_FILES, TENX_MATRIX
from grnlink.reproducibility import package_versions
from grnlink.settings import SimulationParams

PROXIMAL_WINDOW = 50_000
# Distal enhancers lie wholly beyond PROXIMAL_WINDOW
# and within DISTAL_ENHANCER_MAX of their target's TSS.
DISTAL_ENHANCER_MIN = PROXIMAL_WINDOW
DISTAL_ENHANCER_MAX = 200_000
PEAK_WIDTH = 500
BACKGROUND_START = 60_000
BACKGROUND_BINS = 90
HILL_N = 2.0
DROPOUT_SLOPE = 4.0  # SERGIO-style logistic dropout: steep, so mostly low-expressed entries drop
MAX_REGULATORS = 8
# An open enhancer's accessibility in a cell ranges from this share of its cell type's level
# (regulators absent) to 2 - floor times it (regulators saturating); see _enhancer_activity.
ENHANCER_ACTIVITY_FLOOR = 0.2
# The raw folder `write_raw` writes and the preprocess stage reads (grnlink.singlecell).
RNA_DIR = "rna"
ATAC_DIR = "atac"
GENES_FILE = "genes.tsv"
MOTIF_HITS_FILE = "motif_hits.tsv"
CELL_TYPES_FILE = "cell_types.tsv"
GROUND_TRUTH_FILE = "ground_truth.csv"
RECORD_FILE = "simulation.json"
RAW_FILES = (
    *(f"{modality}/{name}" for modality in (RNA_DIR, ATAC_DIR) for name in TENX_FILES),
    GENES_FILE, MOTIF_HITS_FILE, CELL_TYPES_FILE, GROUND_TRUTH_FILE, RECORD_FILE,
)


@dataclass
class SimulatedData:
    """Everything `simulate` draws; cells and genes in output order."""

    rna_counts: sp.csr_matrix  # cells x genes
    atac_counts: sp.csr_matrix  # cells x peaks
    barcodes: list[str]
    cell_types: np.ndarray
    genes: pd.DataFrame  # gene_id, gene_name, chrom, tss, strand, is_tf
    # peak, chrom, start, end, gene, role: enhancer (carries edges to `gene`), decoy (a promoter
    # decoy of `gene`), proximal (another peak near its TSS) or background (gene -1)
    peaks: pd.DataFrame
    motif_hits: pd.DataFrame  # TF, peak
    network: pd.DataFrame  # Gene1, Gene2, cell_type, sign


def simulate(params: SimulationParams) -> SimulatedData:
    """Draw a dataset; the same `params` (seed included) give the same data."""
    rng = np.random.default_rng(params.seed)
    type_names = cell_type_names(params.n_cell_types)
    genes = _layout_genes(params, rng)
    edges = _draw_edges(params, rng)
    peaks, peak_open = _layout_peaks(params, genes, edges, rng)
    motif_hits = _motif_hits(params, genes, peaks, edges, rng)
    cell_type_index = _assign_cell_types(params, rng)
    levels = _expression_levels(params, edges, cell_type_index, rng)
    rna = _rna_counts(params, levels, rng)
    activity = _enhancer_activity(edges, levels, params.n_peaks)
    atac = _atac_counts(params, peak_open, activity, cell_type_index, rng)
    names = genes["gene_name"].to_numpy()
    network = pd.DataFrame({
        "Gene1": names[edges["tf"]],
        "Gene2": names[edges["target"]],
        "cell_type": [type_names[c] if c >= 0 else "" for c in edges["cell_type"]],
        "sign": edges["sign"],
    })
    network = _expand_shared_edges(network, type_names)
    return SimulatedData(
        rna_counts=sp.csr_matrix(rna),
        atac_counts=sp.csr_matrix(atac),
        barcodes=_barcodes(params.n_cells, rng),
        cell_types=np.asarray(type_names)[cell_type_index],
        genes=genes,
        peaks=peaks,
        motif_hits=motif_hits,
        network=network,
    )


def cell_type_names(n_cell_types: int) -> list[str]:
    """Simulated cell types are CT1..CTk (the workflow names files after them)."""
    return [f"CT{i + 1}" for i in range(n_cell_types)]


def _layout_genes(params: SimulationParams, rng: np.random.Generator) -> pd.DataFrame:
    """Genes 0..n_tfs-1 are TFs; genomic order is a random permutation of all genes."""
    n = params.n_genes
    n_chrom = int(np.clip(n // 40, 1, 19))
    order = rng.permutation(n)
    chrom_of_slot = np.sort(rng.integers(0, n_chrom, n))
    gaps = rng.integers(4 * PROXIMAL_WINDOW, 8 * PROXIMAL_WINDOW, n)
    tss_of_slot = np.empty(n, dtype=np.int64)
    for c in range(n_chrom):
        slots = np.flatnonzero(chrom_of_slot == c)
        tss_of_slot[slots] = 1_000_000 + np.cumsum(gaps[slots])
    slot_of_gene = np.empty(n, dtype=np.int64)
    slot_of_gene[order] = np.arange(n)
    width = len(str(n))
    names = [f"TF{i + 1:0{width}d}" if i < params.n_tfs else f"G{i + 1:0{width}d}" for i in range(n)]
    return pd.DataFrame({
        "gene_id": [f"SIMG{i + 1:06d}" for i in range(n)],
        "gene_name": names,
        "chrom": [f"chr{c + 1}" for c in chrom_of_slot[slot_of_gene]],
        "tss": tss_of_slot[slot_of_gene],
        "strand": np.where(rng.random(n) < 0.5, "+", "-"),
        "is_tf": np.arange(n) < params.n_tfs,
    })


def _draw_edges(params: SimulationParams, rng: np.random.Generator) -> pd.DataFrame:
    """Signed edges tf -> target with the cell type they are active in (-1: all).

    Degrees are heavy-tailed as in curated networks: a TF's chance to regulate a gene
    follows a Zipf weight (`tf_hub_exponent`; 0 = uniform), and a target's number of
    regulators scales with a log-normal load (`regulator_load_spread`; 0 = equal).
    """
    n_masters = max(1, params.n_tfs // 3)
    masters = np.arange(n_masters)
    layer1 = np.arange(n_masters, params.n_tfs)
    others = np.arange(params.n_tfs, params.n_genes)
    all_tfs = np.arange(params.n_tfs)
    hub_weight = rng.permutation(np.arange(1, params.n_tfs + 1, dtype=float) ** -params.tf_hub_exponent)
    load = rng.lognormal(0.0, params.regulator_load_spread, params.n_genes)
    load /= load.mean()

    def pick(pool: np.ndarray, k: int) -> np.ndarray:
        weight = hub_weight[pool]
        return rng.choice(pool, size=k, replace=False, p=weight / weight.sum())

    rows: list[tuple[int, int, int]] = []
    regulators: dict[int, set[int]] = {}
    targets = np.concatenate([layer1, others])
    for target in targets:
        pool = masters if target < params.n_tfs else all_tfs
        extra = rng.poisson((params.regulators_per_target - 1) * load[target])
        k = int(np.clip(extra + 1, 1, min(MAX_REGULATORS, len(pool))))
        chosen = pick(pool, k)
        regulators[int(target)] = set(chosen.tolist())
        rows += [(int(tf), int(target), -1) for tf in chosen]
    n_specific = max(1, int(round(params.specific_edges_per_cell_type * len(targets))))
    for c in range(params.n_cell_types):
        for target in rng.choice(targets, size=min(n_specific, len(targets)), replace=False):
            pool = masters if target < params.n_tfs else all_tfs
            free = np.setdiff1d(pool, sorted(regulators[int(target)]))
            if len(free):
                rows.append((int(pick(free, 1)[0]), int(target), c))
    edges = pd.DataFrame(rows, columns=["tf", "target", "cell_type"])
    # Repression is rarer than activation in most curated networks.
    edges["sign"] = np.where(rng.random(len(edges)) < 0.7, 1, -1)
    edges["strength"] = rng.uniform(1.0, 4.0, len(edges))
    return edges


def _layout_peaks(
    params: SimulationParams, genes: pd.DataFrame, edges: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every gene's own peaks, then background peaks; `open[p, c]` = peak p is accessible in type c.

    Each edge gets a `peak` column: the enhancer of its target that carries it.
    """
    k = params.peaks_per_gene
    tss = genes["tss"].to_numpy()
    target = edges["target"].to_numpy()
    edge_type = edges["cell_type"].to_numpy()
    # One enhancer per accessibility pattern a gene's edges need: constitutive for shared
    # edges (-1), open in one cell type for that type's specific edges.
    needed = [sorted(set(edge_type[target == g].tolist())) for g in range(params.n_genes)]
    n_enhancers = sum(len(types) for types in needed)
    distal = np.zeros(n_enhancers, bool)
    distal[rng.choice(n_enhancers, size=round(params.distal_enhancer_share * n_enhancers), replace=False)] = True
    roles: list[str] = []
    starts: list[np.ndarray] = []
    patterns: list[np.ndarray] = []
    edge_peak = np.empty(len(edges), dtype=np.int64)
    for g, types in enumerate(needed):
        for e in np.flatnonzero(target == g):
            edge_peak[e] = g * k + types.index(int(edge_type[e]))
        gene_roles, gene_starts, gene_open = _gene_peaks(params, types, distal[: len(types)], int(tss[g]), rng)
        distal = distal[len(types):]
        roles += gene_roles
        starts.append(gene_starts)
        patterns.append(gene_open)
    n_background = params.n_peaks - k * params.n_genes
    near_gene, background_starts, background_patterns = _background_peaks(params, tss, n_background, rng)
    placed_by = np.concatenate([np.repeat(np.arange(params.n_genes), k), near_gene])
    gene = np.where(np.arange(params.n_peaks) < k * params.n_genes, placed_by, -1)
    chrom = genes["chrom"].to_numpy()[placed_by]
    start = np.concatenate([*starts, background_starts])
    # Distal enhancers go last, into the room every other peak leaves.
    taken = {c: sorted(start[(chrom == c) & (start >= 0)].tolist()) for c in np.unique(chrom)}
    for p in np.flatnonzero(start < 0):
        start[p] = _distal_start(int(tss[gene[p]]), taken[chrom[p]], rng)
    edges["peak"] = edge_peak
    peaks = pd.DataFrame({
        "chrom": chrom, "start": start, "end": start + PEAK_WIDTH, "gene": gene,
        "role": roles + ["background"] * n_background,
    })
    peaks["peak"] = peaks["chrom"] + ":" + peaks["start"].astype(str) + "-" + peaks["end"].astype(str)
    peak_open = np.concatenate([*patterns, background_patterns])
    return peaks[["peak", "chrom", "start", "end", "gene", "role"]], peak_open


def _gene_peaks(
    params: SimulationParams, types: list[int], distal: np.ndarray, tss: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Roles, starts and accessibility of a gene's peaks: enhancers for `types` (start -1 where
    `distal`: placed later), promoter decoys, the rest random; all others on a 1 kb grid
    within `PROXIMAL_WINDOW` of the TSS."""
    k = params.peaks_per_gene
    n_types = params.n_cell_types
    n_decoys = params.promoter_decoys_per_gene
    n_other = k - len(types) - n_decoys
    roles = ["enhancer"] * len(types) + ["decoy"] * n_decoys + ["proximal"] * n_other
    patterns = [np.ones(n_types, bool) if c < 0 else np.arange(n_types) == c for c in types]
    patterns += [_promoter_pattern(n_types, rng) for _ in range(n_decoys)]
    patterns += [_random_pattern(n_types, rng) for _ in range(n_other)]
    near = np.concatenate([~distal, np.ones(k - len(types), bool)])
    offsets = rng.choice(2 * PROXIMAL_WINDOW // 1000, size=near.sum(), replace=False) * 1000 - PROXIMAL_WINDOW
    starts = np.full(k, -1, dtype=np.int64)
    starts[near] = tss + offsets
    return roles, starts, np.asarray(patterns)


def _background_peaks(
    params: SimulationParams, tss: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Genes, starts and accessibility of `n` peaks 60-150 kb downstream of a TSS, clear of
    every proximal window."""
    slots = rng.choice(params.n_genes * BACKGROUND_BINS, size=n, replace=False)
    gene, offset = np.divmod(slots, BACKGROUND_BINS)
    patterns = np.asarray([_random_pattern(params.n_cell_types, rng) for _ in range(n)])
    return gene, tss[gene] + BACKGROUND_START + 1000 * offset, patterns


def _distal_start(tss: int, taken: list[int], rng: np.random.Generator) -> int:
    """Start of a peak lying wholly 50-200 kb up- or downstream of `tss`, overlapping none of
    the sorted peak starts `taken` (it joins them)."""
    while True:
        distance = int(rng.integers(DISTAL_ENHANCER_MIN + 1, DISTAL_ENHANCER_MAX - PEAK_WIDTH + 1))
        start = tss + distance if rng.random() < 0.5 else tss - distance - PEAK_WIDTH
        i = bisect.bisect_left(taken, start - PEAK_WIDTH)
        if i == len(taken) or taken[i] > start + PEAK_WIDTH:
            taken.insert(i, start)
            return start


def _random_pattern(n_types: int, rng: np.random.Generator) -> np.ndarray:
    draw = rng.random()
    if draw < 0.3:
        return np.ones(n_types, bool)
    if draw < 0.8:
        return np.arange(n_types) == rng.integers(n_types)
    return np.zeros(n_types, bool)


def _promoter_pattern(n_types: int, rng: np.random.Generator) -> np.ndarray:
    """Open in at least one cell type; constitutive half the time, as promoters often are."""
    if rng.random() < 0.5:
        return np.ones(n_types, bool)
    pattern = rng.random(n_types) < 0.5
    pattern[rng.integers(n_types)] = True
    return pattern


def _motif_hits(
    params: SimulationParams, genes: pd.DataFrame, peaks: pd.DataFrame, edges: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """True hits (every edge's peak carries its TF's motif), the promoter decoys' hits and decoys
    in random peaks."""
    true_hits = pd.DataFrame({"tf": edges["tf"], "peak": edges["peak"]})
    counts = true_hits["tf"].value_counts().reindex(range(params.n_tfs), fill_value=1)
    # A motif scan misses some real sites: only `motif_recall` of the true hits are listed.
    true_hits = true_hits[rng.random(len(true_hits)) < params.motif_recall]
    promoter_hits = _promoter_decoy_hits(params, peaks, edges, rng)
    n_decoys = np.maximum(1, np.round(counts.to_numpy() * params.decoy_motif_hits)).astype(int)
    decoys = pd.DataFrame({
        "tf": np.repeat(np.arange(params.n_tfs), n_decoys),
        "peak": rng.integers(0, len(peaks), int(n_decoys.sum())),
    })
    hits = pd.concat([true_hits, promoter_hits, decoys]).drop_duplicates().sort_values(["tf", "peak"])
    names = genes["gene_name"].to_numpy()
    return pd.DataFrame({
        "TF": names[hits["tf"].to_numpy()], "peak": peaks["peak"].to_numpy()[hits["peak"].to_numpy()]
    })


def _promoter_decoy_hits(
    params: SimulationParams, peaks: pd.DataFrame, edges: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """In each promoter decoy, the motif of a TF that does not regulate its gene (when one is left)."""
    regulators = edges.groupby("target")["tf"].unique()
    tfs: list[int] = []
    decoy_peaks: list[int] = []
    for p in np.flatnonzero(peaks["role"].to_numpy() == "decoy"):
        g = int(peaks["gene"].iat[p])
        free = np.setdiff1d(np.arange(params.n_tfs), [g, *regulators.get(g, [])])
        if len(free):
            tfs.append(int(rng.choice(free)))
            decoy_peaks.append(int(p))
    return pd.DataFrame({"tf": np.asarray(tfs, np.int64), "peak": np.asarray(decoy_peaks, np.int64)})


def _assign_cell_types(params: SimulationParams, rng: np.random.Generator) -> np.ndarray:
    """Unequal cell-type sizes, every type non-empty."""
    shares = rng.dirichlet(np.full(params.n_cell_types, 20.0))
    guaranteed = np.arange(params.n_cell_types)
    rest = rng.choice(params.n_cell_types, size=params.n_cells - params.n_cell_types, p=shares)
    return rng.permutation(np.concatenate([guaranteed, rest]))


def _expression_levels(
    params: SimulationParams, edges: pd.DataFrame, cell_type: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Steady-state mean expression, cells x genes, genes in topological order (TFs first)."""
    n_cells, n_genes = params.n_cells, params.n_genes
    n_masters = max(1, params.n_tfs // 3)
    levels = np.zeros((n_cells, n_genes))
    type_level = rng.lognormal(np.log(3.0), 0.8, (params.n_cell_types, n_masters))
    levels[:, :n_masters] = type_level[cell_type] * rng.lognormal(0.0, params.cell_noise, (n_cells, n_masters))
    basal = rng.uniform(0.1, 1.0, n_genes)
    tf = edges["tf"].to_numpy()
    target = edges["target"].to_numpy()
    edge_type = edges["cell_type"].to_numpy()
    weight = (edges["sign"] * edges["strength"]).to_numpy()
    for g in range(n_masters, n_genes):
        rate = np.full(n_cells, basal[g])
        for e in np.flatnonzero(target == g):
            x = levels[:, tf[e]]
            half = np.median(x)
            hill = x**HILL_N / (half**HILL_N + x**HILL_N)
            effect = hill if weight[e] > 0 else 1.0 - hill
            active = np.ones(n_cells, bool) if edge_type[e] < 0 else cell_type == edge_type[e]
            rate += active * abs(weight[e]) * effect
        levels[:, g] = rate * rng.lognormal(0.0, params.intrinsic_noise, n_cells)
    return levels


def _rna_counts(params: SimulationParams, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    library = rng.lognormal(np.log(params.umis_per_cell), 0.3, params.n_cells)
    mean = levels / levels.sum(axis=1, keepdims=True) * library[:, None]
    rate = rng.gamma(params.nb_dispersion, mean / params.nb_dispersion)
    counts = rng.poisson(rate)
    # SERGIO-style dropout: logistic in log expression, 50 % at the chosen quantile.
    midpoint = np.log(np.quantile(mean, params.dropout_quantile))
    keep = rng.random(mean.shape) < 1.0 / (1.0 + np.exp(-DROPOUT_SLOPE * (np.log(mean) - midpoint)))
    return (counts * keep).astype(np.int32)


def _enhancer_activity(edges: pd.DataFrame, levels: np.ndarray, n_peaks: int) -> np.ndarray:
    """Cells x peaks factor on open peaks' accessibility: 1 except at enhancers, where it is
    `ENHANCER_ACTIVITY_FLOOR` + (1 - floor) x 2 x the mean Hill occupancy of the TFs acting
    through the enhancer (mean about 1), so an enhancer opens as its regulators rise."""
    activity = np.ones((levels.shape[0], n_peaks))
    for peak, tfs in edges.groupby("peak")["tf"]:
        x = levels[:, tfs.to_numpy()]
        half = np.median(x, axis=0)
        occupancy = (x**HILL_N / (half**HILL_N + x**HILL_N)).mean(axis=1)
        activity[:, peak] = ENHANCER_ACTIVITY_FLOOR + (1.0 - ENHANCER_ACTIVITY_FLOOR) * 2.0 * occupancy
    return activity


def _atac_counts(
    params: SimulationParams,
    peak_open: np.ndarray,
    activity: np.ndarray,
    cell_type: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Poisson counts, cells x peaks: `peak_open` (peaks x cell types) picks a peak's open or
    background accessibility in a cell type; `activity` (cells x peaks) scales it where open."""
    accessibility = np.where(
        peak_open, rng.uniform(0.15, 0.4, peak_open.shape), rng.uniform(0.005, 0.03, peak_open.shape)
    )
    depth = rng.lognormal(0.0, 0.3, params.n_cells) * params.atac_depth
    scale = np.where(peak_open.T[cell_type], activity, 1.0)
    rate = accessibility.T[cell_type] * scale * depth[:, None]
    return rng.poisson(rate).astype(np.int32)


def _barcodes(n: int, rng: np.random.Generator) -> list[str]:
    letters = np.array(list("ACGT"))
    barcodes: list[str] = []
    seen: set[str] = set()
    while len(barcodes) < n:
        code = "".join(letters[rng.integers(0, 4, 16)]) + "-1"
        if code not in seen:
            seen.add(code)
            barcodes.append(code)
    return barcodes


def _expand_shared_edges(network: pd.DataFrame, type_names: list[str]) -> pd.DataFrame:
    """Shared edges become one row per cell type; sorted for stable output."""
    shared = network[network["cell_type"] == ""]
    expanded = [network[network["cell_type"] != ""]]
    expanded += [shared.assign(cell_type=name) for name in type_names]
    out = pd.concat(expanded).drop_duplicates(["Gene1", "Gene2", "cell_type"])
    return out.sort_values(["cell_type", "Gene1", "Gene2"]).reset_index(drop=True)


def write_raw(data: SimulatedData, params: SimulationParams, out_dir: str | os.PathLike[str]) -> None:
    """Write the dataset as real data arrives (see `RAW_FILES`), atomically as one folder."""
    with atomic_path(out_dir) as tmp:
        for modality, matrix, features in (
            (RNA_DIR, data.rna_counts, _gene_features(data.genes)),
            (ATAC_DIR, data.atac_counts, _peak_features(data.peaks)),
        ):
            (tmp / modality).mkdir(parents=True)
            _write_mtx_gz(matrix.T.tocoo(), tmp / modality / TENX_MATRIX)
            _write_text_gz(features, tmp / modality / TENX_FEATURES)
            _write_text_gz("".join(f"{b}\n" for b in data.barcodes), tmp / modality / TENX_BARCODES)
        data.genes[["gene_id", "gene_name", "chrom", "tss", "strand"]].to_csv(
            tmp / GENES_FILE, sep="\t", index=False
        )
        data.motif_hits.to_csv(tmp / MOTIF_HITS_FILE, sep="\t", index=False)
        pd.DataFrame({"barcode": data.barcodes, "cell_type": data.cell_types}).to_csv(
            tmp / CELL_TYPES_FILE, sep="\t", index=False
        )
        data.network.to_csv(tmp / GROUND_TRUTH_FILE, index=False)
        record = {"params": asdict(params), "seed": params.seed, "versions": package_versions()}
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _gene_features(genes: pd.DataFrame) -> str:
    return "".join(f"{i}\t{n}\tGene Expression\n" for i, n in zip(genes["gene_id"], genes["gene_name"]))


def _peak_features(peaks: pd.DataFrame) -> str:
    return "".join(f"{p}\t{p}\tPeaks\n" for p in peaks["peak"])


def _write_text_gz(text: str, path: Path) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=4) as gz:
        gz.write(text.encode())


def _write_mtx_gz(matrix: sp.coo_matrix, path: Path) -> None:
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, matrix, field="integer")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=4) as gz:
        gz.write(buffer.getvalue())
