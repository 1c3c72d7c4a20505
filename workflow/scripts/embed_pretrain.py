from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.embed.pretrain import run_pretraining
from grnlink.settings import PretrainSettings, from_params

run_pretraining(
    from_params(PretrainSettings, snakemake.params.settings),
    preprocessed=list(snakemake.input),
    out_dir=snakemake.output[0],
    # A resource, not a setting: read from the config so that changing it reruns nothing.
    device=snakemake.config["embed"]["device"],
    threads=snakemake.threads,
)
