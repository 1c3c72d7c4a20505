from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.simulate import SimulationParams, simulate, write_raw

params = SimulationParams.from_config(snakemake.params.settings)
write_raw(simulate(params), params, snakemake.output[0])
