"""The torch device a stage computes on (the embed stage's models, the train stage's
networks): `auto` is CUDA when a GPU is present, else the CPU."""

from __future__ import annotations

import os


def pick_device(requested: str = "auto"):
    """`cuda` when available (or asked for), else `cpu`. On CUDA, cuBLAS gets the fixed
    workspace that torch's deterministic algorithms need (set before its first use)."""
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA device is available")
    if requested == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device(requested)
