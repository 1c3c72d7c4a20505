"""Fetch one configured remote file (resumed, retried, verified)."""

from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.download import RetryPolicy, download  # noqa: E402

download(
    snakemake.params.url,
    snakemake.output[0],
    policy=RetryPolicy(**snakemake.params.policy),
    **snakemake.params.checks,
)
