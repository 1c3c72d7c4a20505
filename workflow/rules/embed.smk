# The embed stage: a Geneformer-architecture model (self-pretrained by default, or a real
# Geneformer checkpoint) turns each dataset's cells into per-cell-type gene embeddings.


rule pretrain:
    input:
        embed_pretraining_inputs(),
    output:
        directory(EMBED_MODEL),
    log:
        "logs/pretrain/pretrain.log",
    benchmark:
        "benchmarks/pretrain/pretrain.tsv"
    conda:
        "../../envs/embed.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        settings=to_params(SETTINGS.embed.pretraining()),
    script:
        "../scripts/embed_pretrain.py"


rule embed:
    input:
        unpack(embed_inputs),
    output:
        embeddings("{dataset}"),
    log:
        "logs/embed/{dataset}.log",
    benchmark:
        "benchmarks/embed/{dataset}.tsv"
    conda:
        "../../envs/embed.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        settings=to_params(SETTINGS.embed.extraction()),
    script:
        "../scripts/embed_extract.py"


rule embed_pca:
    input:
        data=preprocessed_input,
        fm_embeddings=embeddings("{dataset}"),
    output:
        embeddings("{dataset}", "pca"),
    log:
        "logs/embed_pca/{dataset}.log",
    benchmark:
        "benchmarks/embed_pca/{dataset}.tsv"
    conda:
        "../../envs/embed.yaml"
    params:
        settings=to_params(SETTINGS.embed.pca_control()),
    script:
        "../scripts/embed_pca.py"
