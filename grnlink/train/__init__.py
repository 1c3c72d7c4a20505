"""Supervised TF -> target link prediction (scRegNet, its ablations and baselines).

`data` builds features, graphs and corrupted labels; `models` holds the networks; `fit`
trains with early stopping on the validation split; `metrics` scores; `run` ties one run
of a configured variant together.
"""
