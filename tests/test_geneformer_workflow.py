"""`embed: {backend: geneformer, checkpoint: DIR}` end to end, with Geneformer V1's shipped
dictionaries and a checkpoint of Geneformer V1's architecture (random weights: the real
ones cannot be downloaded here) on 100 cells of the shipped hHEP set, whose human symbols
map to Ensembl ids."""

from __future__ import annotations

import pickle

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from transformers import BertConfig, BertForMaskedLM

from conftest import ROOT, run_snakemake
from grnlink.dataset import benchmark_genes, load
from grnlink.genelink import FILES
from grnlink.settings import GENEFORMER_RESOURCES

V1_CONFIG = GENEFORMER_RESOURCES / "geneformer-6L-30M_config.json"


def v1_checkpoint(path):
    """A randomly initialised model with Geneformer V1's exact configuration."""
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig.from_json_file(V1_CONFIG)).save_pretrained(path)
    return path


def hhep_subset(folder, n_cells):
    """The shipped hHEP TFs+500 folder with its first `n_cells` cells (genes and network kept)."""
    source = ROOT / "resources/beeline/hHEP/TFs+500"
    folder.mkdir()
    for name in FILES.values():
        (folder / name).write_bytes((source / name).read_bytes())
    expression = pd.read_csv(source / FILES["expression"], index_col=0)
    expression.iloc[:, :n_cells].to_csv(folder / FILES["expression"])
    return folder


def shipped(name):
    with (GENEFORMER_RESOURCES / name).open("rb") as handle:
        return pickle.load(handle)


def direct_pooled_embedding(rna, model_dir, hidden_index):
    """Geneformer's recipe written out cell by cell: expression / cell total * 10,000 / gene
    median, genes ranked (stable), first 2,048 tokens, one unpadded HF forward pass per cell,
    each gene's hidden states averaged over the cells it appears in; and the tokens per cell."""
    tokens, medians = shipped("token_dictionary.pkl"), shipped("gene_median_dictionary.pkl")
    ensembl = {symbol.upper(): gene_id for symbol, gene_id in reversed(shipped("gene_name_id_dict.pkl").items())}
    model = BertForMaskedLM.from_pretrained(model_dir, attn_implementation="eager").eval()
    x = np.asarray(rna.X, dtype=np.float64)
    ids = [ensembl.get(g.upper()) for g in rna.var_names]
    usable = [j for j, i in enumerate(ids) if i in tokens and i in medians]
    sums, counts, lengths = {}, {}, []
    for row in x:
        value = row[usable] * (1e4 / row.sum()) / np.array([medians[ids[j]] for j in usable])
        order = [usable[k] for k in np.argsort(-value, kind="stable") if value[k] > 0][:2048]
        lengths.append(len(order))
        with torch.no_grad():
            states = model(input_ids=torch.tensor([[int(tokens[ids[j]]) for j in order]]),
                           output_hidden_states=True).hidden_states[hidden_index][0].double().numpy()
        for position, j in enumerate(order):
            sums[j] = sums.get(j, 0) + states[position]
            counts[j] = counts.get(j, 0) + 1
    return {rna.var_names[j]: sums[j] / counts[j] for j in sums}, lengths


@pytest.mark.slow
def test_geneformer_backend_from_config_to_training(tmp_path):
    checkpoint = v1_checkpoint(tmp_path / "Geneformer")
    config = {
        "datasets": {"hHEP": {"source": "genelink", "path": str(hhep_subset(tmp_path / "hHEP", 100))}},
        "seeds": [0],
        "split": {"protocols": ["genelink"]},
        "embed": {"backend": "geneformer", "checkpoint": str(checkpoint)},
        "train": {"variants": [{"name": "scregnet"}, {"name": "scregnet_pca", "embedding": "pca"}],
                  "epochs": 3, "noise_levels": []},
    }
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    targets = ["results/hHEP/train/genelink/scregnet/seed0/metrics.tsv",
               "results/hHEP/train/genelink/scregnet_pca/seed0/metrics.tsv",
               "results/report/tables/embedding_inputs.md"]
    proc = run_snakemake(work, configfile, "--cores", "2", *targets, timeout=900)
    assert proc.returncode == 0, proc.stderr[-6000:]

    rna, _ = load(work / "results/hHEP/preprocessed.h5ad")
    result = ad.read_h5ad(work / "results/hHEP/embed/embeddings.h5ad")
    assert list(result.obs_names) == benchmark_genes(rna) and result.X.shape[1] == 256
    direct, lengths = direct_pooled_embedding(rna, checkpoint, hidden_index=-2)
    known = result.obs["known"].to_numpy()
    seen = result.obs["n_cells"].to_numpy() > 0
    assert known.mean() > 0.95 and set(result.obs_names[seen]) == set(direct)
    expected = np.stack([direct[g] for g in result.obs_names[seen]])
    np.testing.assert_allclose(result.X[seen], expected, atol=1e-5)
    assert not result.X[~seen].any()

    embed = result.uns["embed"]
    assert embed["model_name"] == "Geneformer checkpoint Geneformer"
    inputs = embed["inputs"]
    assert inputs["ranked_on"] == "log values" and inputs["n_genes"] == rna.n_vars == 948
    assert 0.95 < inputs["known_share"] < 1 and inputs["mapped_share"] >= inputs["known_share"]
    assert inputs["tokens_per_cell"] == np.median(lengths)
    log = (work / "logs/embed/hHEP.log").read_text()
    assert "WARNING" in log and "ranked on log values" in log and "948 benchmark genes" in log

    pca = ad.read_h5ad(work / "results/hHEP/embed/pca_control.h5ad")
    assert pca.X.shape == result.X.shape and list(pca.obs_names) == list(result.obs_names)
    report = (work / "results/report/tables/embedding_inputs.md").read_text()
    assert "Geneformer checkpoint Geneformer" in report and "log values" in report
    for variant in ("scregnet", "scregnet_pca"):
        metrics = pd.read_csv(work / f"results/hHEP/train/genelink/{variant}/seed0/metrics.tsv", sep="\t")
        assert metrics["test_auroc"].between(0, 1).all()
