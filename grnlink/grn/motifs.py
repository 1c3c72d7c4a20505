"""TF -> peak motif hits from a genome FASTA: the JASPAR motifs muon ships, MOODS scan.

For real data without a motif hit table: the peak sequences are cut from the user's genome
FASTA (read one chromosome at a time) and scanned with `muon.atac.tl.scan_sequences`
(MOODS-python; 746 JASPAR core vertebrate motifs with their TF names). Motifs of dimers
(`A::B`) count for both TFs; TF names match the data's genes case-insensitively (JASPAR
writes mouse genes in title case, the preprocessed data upper-cases them).
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from grnlink.errors import InputError
from grnlink.readers import parse_peaks

PathLike = str | os.PathLike[str]
JASPAR_DIR = Path(importlib.util.find_spec("muon").submodule_search_locations[0]) / "_atac" / "_ref" / "jaspar"


def fasta_records(path: PathLike) -> Iterator[tuple[str, str]]:
    """(name, sequence) of each record; the name is the header's first word."""
    opener = gzip.open if str(path).endswith(".gz") else open
    name, chunks = None, []
    try:
        with opener(path, "rt") as handle:
            for line_no, line in enumerate(handle, start=1):
                line = line.strip()
                if line.startswith(">"):
                    if name is not None:
                        yield name, "".join(chunks)
                    name, chunks = line[1:].split()[0] if line[1:].split() else "", []
                    if not name:
                        raise InputError(path, "FASTA header without a sequence name", line=line_no)
                elif line:
                    if name is None:
                        raise InputError(path, "sequence before the first '>' header", line=line_no)
                    chunks.append(line.upper())
    except FileNotFoundError as err:
        raise InputError(path, "file not found") from err
    if name is not None:
        yield name, "".join(chunks)


def peak_sequences(fasta: PathLike, peaks: pd.DataFrame) -> dict[str, str]:
    """Sequence of each peak (`peaks`: chrom, start, end, indexed by name; 0-based, end exclusive)."""
    wanted = set(peaks["chrom"])
    sequences: dict[str, str] = {}
    for chrom, sequence in fasta_records(fasta):
        if chrom not in wanted:
            continue
        on_chrom = peaks[peaks["chrom"] == chrom]
        too_long = on_chrom["end"] > len(sequence)
        if too_long.any():
            raise InputError(fasta, f"peak {on_chrom.index[too_long.argmax()]} ends beyond {chrom} ({len(sequence)} bp)")
        for name, start, end in zip(on_chrom.index, on_chrom["start"], on_chrom["end"]):
            sequences[name] = sequence[start:end]
        wanted.discard(chrom)
    if wanted:
        raise InputError(fasta, f"no sequence for chromosome(s) {sorted(wanted)[:5]} of the peaks")
    return sequences


def scan_motif_hits(
    fasta: PathLike, peak_names: Sequence[str], tf_names: Sequence[str], pvalue: float, source: PathLike,
) -> pd.DataFrame:
    """Motif hits `TF, peak` of the data's TFs in its peaks (`source` names the peaks' file).

    Only the JASPAR motifs of the data's TFs are scanned (muon's scan takes the matrices,
    their ids and the id -> TF table).
    """
    import MOODS.parsers
    import MOODS.tools
    from muon import atac as muon_atac

    peaks = parse_peaks(list(peak_names), source)
    tf_by_upper = {tf.upper(): tf for tf in tf_names}
    motif_tfs = jaspar_motifs()
    motif_tfs = motif_tfs[[any(p.upper() in tf_by_upper for p in m.split("::")) for m in motif_tfs["tf_gene_name"]]]
    if motif_tfs.empty:
        return pd.DataFrame(columns=["TF", "peak"])
    sequences = peak_sequences(fasta, peaks)
    peaks_of_sequence: dict[str, list[str]] = {}
    for name in peaks.index:
        peaks_of_sequence.setdefault(sequences[name], []).append(name)
    background = MOODS.tools.flat_bg(4)
    matrices = [MOODS.parsers.pfm_to_log_odds(str(JASPAR_DIR / f"{m}.pfm"), background, 1e-4) for m in motif_tfs.index]
    matches = muon_atac.tl.scan_sequences(
        list(peaks_of_sequence), matrices=matrices, motifs=list(motif_tfs.index), motif_meta=motif_tfs, pvalue=pvalue,
    )
    rows = []
    for sequence, names in zip(matches["sequence"], matches["tf_gene_name"].astype(str)):
        for part in names.split("::"):
            tf = tf_by_upper.get(part.strip().upper())
            if tf is not None:
                rows += [(tf, peak) for peak in peaks_of_sequence[sequence]]
    hits = pd.DataFrame(rows, columns=["TF", "peak"]).drop_duplicates()
    return hits.sort_values(["TF", "peak"]).reset_index(drop=True)


def jaspar_motifs() -> pd.DataFrame:
    """muon's JASPAR motif ids (index) with their TF names (`tf_gene_name`)."""
    table = pd.read_csv(JASPAR_DIR / "motif_to_gene.txt", sep="\t", header=None, names=["motif_id", "tf_gene_name"])
    return table.set_index("motif_id")
