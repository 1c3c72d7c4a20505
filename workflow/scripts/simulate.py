from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.settings import SimulationParams, from_params
from grnlink.simulate import simulate, write_raw

params = from_params(SimulationParams, snakemake.params.settings)
write_raw(simulate(params), params, snakemake.output[0])
