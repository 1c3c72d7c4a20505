"""Fetch one configured remote file (resumed, retried, verified)."""

from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.download import download  # noqa: E402
from grnlink.settings import RetryPolicy, from_params  # noqa: E402

download(
    snakemake.params.url,
    snakemake.output[0],
    policy=from_params(RetryPolicy, snakemake.params.policy),
    **snakemake.params.checks,
)
