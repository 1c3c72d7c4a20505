"""The results a reader of the papers looks for, regenerated from a run's outputs.

`tables` lays the link-prediction metrics out as the scRegNet paper's Tables 2 and 3
(methods x datasets, mean ± sd over seeds); `figures` draws the ablation, label-noise,
edge-perturbation, inferred-GRN and per-cell-type precision-recall figures; `curves`
computes the precision-recall curves of the cell-type GRNs; `run_info` records the run's
configuration and package versions.
"""
