from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.preprocess import preprocess_dataset
from grnlink.settings import dataset_settings

preprocess_dataset(snakemake.wildcards.dataset, dataset_settings(snakemake.params.settings),
                   inputs=dict(snakemake.input.items()), output=snakemake.output[0])
