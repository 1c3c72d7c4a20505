"""The geo chain through Snakemake: download (file:// URLs, checksums) -> unpack -> preprocess."""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_snakemake
from grnlink import dataset


def write_mdc_like_series(folder: Path, rng: np.random.Generator) -> tuple[Path, Path, list[str]]:
    """GSE48968-format TPM (genes x cells, tab) with a time trend, and a BEELINE-Networks.zip."""
    genes = [f"GENE{i}" for i in range(120)]
    tfs = genes[:15]
    cells = [f"LPS_{t}h_S{i}" for t in (1, 2, 4, 6) for i in range(15)] + [f"PIC_2h_S{i}" for i in range(10)]
    time = np.array([float(c.split("_")[1][:-1]) if c.startswith("LPS") else 0.0 for c in cells])
    slopes = rng.normal(0, 1.5, len(genes))
    log_tpm = 3 + np.outer(slopes, time / 6) + rng.normal(0, 0.3, (len(genes), len(cells)))
    tpm = pd.DataFrame(np.round(np.exp2(log_tpm) - 1, 3).clip(0), index=genes, columns=cells)
    expression = folder / "GSE48968_allgenesTPM_GSM1189042_GSM1190902.txt.gz"
    with gzip.open(expression, "wt") as handle:
        handle.write("\t".join(cells) + "\n")
        tpm.to_csv(handle, sep="\t", header=False)
    edges = {(tf, genes[j]) for tf in tfs for j in rng.choice(len(genes), 12, replace=False)}
    network = pd.DataFrame(sorted(edges), columns=["Gene1", "Gene2"]).assign(Score=1)
    networks = folder / "BEELINE-Networks.zip"
    with zipfile.ZipFile(networks, "w") as zipped:
        zipped.writestr("Networks/mouse/mDC-ChIP-seq-network.csv", network.to_csv(index=False))
        zipped.writestr("mouse-tfs.csv", "TF,Sources\n" + "".join(f"{tf},TRRUST\n" for tf in tfs))
    return expression, networks, tfs


@pytest.mark.slow
def test_geo_dataset_from_download_to_preprocessed(tmp_path):
    remote = tmp_path / "remote"
    remote.mkdir()
    expression, networks, tfs = write_mdc_like_series(remote, np.random.default_rng(7))
    config = {
        "downloads": {
            "backoff_s": 0.01,
            "files": {
                expression.name: {"url": expression.as_uri(),
                                  "md5": hashlib.md5(expression.read_bytes()).hexdigest()},
                networks.name: {"url": networks.as_uri(), "size": networks.stat().st_size},
            },
        },
        "datasets": {
            "mDC-TFs500": {
                "source": "geo", "series": "mDC", "n_top_genes": 40,
                "files": {"expression": expression.name, "networks": networks.name},
                "network": "Networks/mouse/mDC-ChIP-seq-network.csv", "tfs": "mouse-tfs.csv",
                "keep_cells": "^LPS_", "drop_cells": "PIC|Control|PAM|KO",
            }
        },
        "seeds": [0],
    }
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    work = tmp_path / "run"
    target = "results/mDC-TFs500/preprocessed.h5ad"
    proc = run_snakemake(work, configfile, "--cores", "2", target, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "resources" / "unpacked" / networks.name / "mouse-tfs.csv").is_file()
    rna, _ = dataset.load(work / target)
    assert rna.n_obs == 60 and all(rna.obs_names.str.startswith("LPS_"))
    assert list(rna.obs["cell_type"].cat.categories) == ["mDC-TFs500"]
    network = pd.DataFrame(rna.uns["network"])
    selected = set(dataset.benchmark_genes(rna))
    assert len(network) > 0
    assert set(network["Gene1"]) <= set(tfs) & selected and set(network["Gene2"]) <= selected


def test_beeline_config_plans_all_fourteen_datasets_from_download(tmp_path, repo_root):
    targets = [f"results/{d}/preprocessed.h5ad"
               for d in yaml.safe_load((repo_root / "config" / "beeline.yaml").read_text())["datasets"]]
    assert len(targets) == 14
    proc = run_snakemake(tmp_path, repo_root / "config" / "beeline.yaml", "-n", *targets,
                         timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dict(line.split()[:2] for line in proc.stdout.splitlines() if line.split()[:1] in
                  (["download"], ["unpack"], ["preprocess"]))
    # 7 remote files + BEELINE-Networks.zip; 4 GEO .gz + the zip unpacked; 7 series x 2 sizes.
    assert counts == {"download": "8", "unpack": "5", "preprocess": "14"}


def test_dataset_file_missing_from_downloads_is_named(tmp_path, repo_root):
    config = yaml.safe_load((repo_root / "config" / "beeline.yaml").read_text())
    config["datasets"] = {"mDC-TFs500": config["datasets"]["mDC-TFs500"]}
    config["train"]["noise_datasets"] = ["mDC-TFs500"]
    config["datasets"]["mDC-TFs500"]["files"]["expression"] = "GSE48968_typo.txt.gz"
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config))
    proc = run_snakemake(tmp_path, configfile, "-n", "results/mDC-TFs500/preprocessed.h5ad", timeout=120)
    assert proc.returncode != 0
    assert "GSE48968_typo.txt.gz" in proc.stdout + proc.stderr
    assert "not in the config's downloads.files" in proc.stdout + proc.stderr
