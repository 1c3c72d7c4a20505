"""grnlink: gene-regulatory link prediction from foundation-model embeddings and GNNs.

The library holds all logic of the Snakemake pipeline; `workflow/scripts/` only adapt
Snakemake's inputs to these functions. See docs/ARCHITECTURE.md for the data contract.
"""

__version__ = "0.1.0"
