from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.embed.pca import pca_control
from grnlink.settings import PcaControlSettings, from_params

pca_control(
    from_params(PcaControlSettings, snakemake.params.settings),
    preprocessed=snakemake.input.data,
    fm_embeddings=snakemake.input.fm_embeddings,
    output=snakemake.output[0],
)
