# The download stage: every remote file of the `downloads` section, fetched once (keyed by
# file name, shared by the datasets that use it), and archives unpacked as their own step.


rule download:
    output:
        downloaded("{file}"),
    log:
        "logs/download/{file}.log",
    benchmark:
        "benchmarks/download/{file}.tsv"
    wildcard_constraints:
        file=download_regex(),
    localrule: True
    conda:
        "../../envs/download.yaml"
    params:
        url=download_url,
        checks=download_checks,
        policy=download_policy(),
    script:
        "../scripts/download.py"


rule unpack:
    input:
        downloaded("{archive}"),
    output:
        directory(unpacked("{archive}")),
    log:
        "logs/unpack/{archive}.log",
    benchmark:
        "benchmarks/unpack/{archive}.tsv"
    wildcard_constraints:
        archive=download_regex(archives_only=True),
    conda:
        "../../envs/download.yaml"
    script:
        "../scripts/unpack.py"
