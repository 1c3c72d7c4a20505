"""The results a reader of the papers looks for, regenerated from a run's outputs.

`tables` lays the link-prediction metrics out as the scRegNet paper's Tables 2 and 3
(methods x datasets, mean ± sd over seeds), one table per split protocol and gene set;
`lift` pairs every method with the label-only degree baseline by split seed (mean
difference and 95 % t-interval); `figures` draws the ablation, label-noise,
edge-perturbation and lift figures per protocol, the inferred-GRN and per-cell-type
precision-recall figures; `curves` computes the precision-recall curves of the cell-type
GRNs; `run_info` records the run's configuration and package versions.
"""
