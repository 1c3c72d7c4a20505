from grnlink.logs import log_to

log_to(snakemake.log[0])

from grnlink.embed.extract import embed_dataset
from grnlink.settings import ExtractionSettings, from_params

embed_dataset(
    from_params(ExtractionSettings, snakemake.params.settings),
    preprocessed=snakemake.input.data,
    model_dir=snakemake.input.model,
    output=snakemake.output[0],
    token_dictionary=snakemake.input.get("token_dictionary"),
    gene_median_dictionary=snakemake.input.get("gene_median_dictionary"),
    mapping_table=snakemake.input.get("mapping_table"),
    # A resource, not a setting: read from the config so that changing it reruns nothing.
    device=snakemake.config["embed"]["device"],
    threads=snakemake.threads,
)
