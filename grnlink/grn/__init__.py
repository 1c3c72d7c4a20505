"""The grn stage: cell-type-specific and cell-specific regulatory networks from the data.

- `grnboost`: GRNBoost2 (arboreto's per-target regressions) on one or more cores or a dask cluster.
- `atac`: peak and motif tables, peak -> gene links, TF -> peak -> gene triplets.
- `motifs`: motif hits from a genome FASTA with muon's JASPAR motifs (MOODS).
- `celltype`: the cell-type GRN edge tables and the unsupervised baseline scores.
- `regulons`: regulons (TF with its positively correlated targets) from a cell-type GRN.
- `cell_specific`: per-cell GRNs from AUCell regulon activity and from CSN (Dai et al.).
- `evaluate`: AUROC/AUPRC of the inferred networks against the ground truth.
- `evidence`: the pair-evidence table: the label-free evidence on each candidate pair.
- `stage`: the workflow jobs, file in / file out (settings: grnlink.settings).
"""
