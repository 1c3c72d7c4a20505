from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.grn.stage import run_cell_specific
from grnlink.settings import CellSpecificGrnSettings, from_params

run_cell_specific(
    from_params(CellSpecificGrnSettings, snakemake.params.settings),
    preprocessed=snakemake.input.data,
    celltype_paths=dict(zip(snakemake.params.cell_types, snakemake.input.tables)),
    output=snakemake.output[0],
)
