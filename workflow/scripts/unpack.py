"""Unpack one downloaded `.gz` or `.zip` into its directory."""

from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.download import unpack  # noqa: E402

unpack(snakemake.input[0], snakemake.output[0])
