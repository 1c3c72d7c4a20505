from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_celltype
from grnlink.settings import CellTypeGrnSettings, from_params

run_celltype(
    from_params(CellTypeGrnSettings, snakemake.params.settings),
    preprocessed=snakemake.input.data,
    cell_type=snakemake.wildcards.cell_type,
    output=snakemake.output[0],
    threads=snakemake.threads,
    # A resource, not a setting: read from the config so that moving to a cluster reruns nothing.
    scheduler_address=snakemake.config["grn"]["scheduler_address"],
    motif_hits=snakemake.input.get("motifs"),
)
