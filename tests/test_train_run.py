"""One variant on one split, end to end in the library: learning, model choice on the
validation part only, determinism, label-noise replicates, baselines and new-edge ranking."""

import json
from dataclasses import replace
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnlink.grn.evidence import EVIDENCE_GROUPS, RNA_EVIDENCE_GROUPS
from grnlink.train import data as tdata
from grnlink.train.data import RunInputs
from grnlink.train.run import SeedJob, gather_metrics, rank_new_edges, run_to_files, run_variant
from grnlink.settings import UNSUPERVISED_MODELS, TrainSettings, Variant, VariantRun, from_params

pytestmark = pytest.mark.usefixtures("one_torch_thread")


N_TFS, N_GENES, N_CELLS = 6, 48, 60
# scRegNet: 30 epochs, patience 8, batches of 128, lr 1e-2; GENELink: 20 epochs (no early
# stopping, as published), batches of 128, lr 3e-3 decayed by 0.99 per step.
FAST = TrainSettings(hidden=16, mlp_hidden=16, epochs=30, patience=8, batch_size=128, lr=1e-2,
                     genelink_epochs=20, genelink_batch_size=128, genelink_lr=3e-3, genelink_lr_decay=0.99)


def fast_run(variant: Variant, *, noise_levels=(), noise_replicates: int = 0, top_new_edges: int = 0,
             protocol: str = "genelink", settings: TrainSettings = FAST) -> VariantRun:
    """What a training job of `variant` reads, built as the workflow builds it (label-noise
    runs only when the variant has them and the protocol is a noise protocol)."""
    train = replace(settings, variants=(variant,), noise_levels=tuple(noise_levels),
                    noise_replicates=noise_replicates, top_new_edges=top_new_edges)
    return train.variant_run(variant.name, protocol=protocol)


def synthetic_network(seed: int = 0):
    """Genes 0..5 are TFs; 'hub' targets (genes 6..21) follow most TFs, the rest rarely.
    Targets' expression is driven by their TFs, so both the graph and the expression carry signal."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(N_GENES)]
    truth = np.zeros((N_TFS, N_GENES), dtype=int)
    truth[:, 6:22] = rng.random((N_TFS, 16)) < 0.8
    truth[:, 22:] = rng.random((N_TFS, N_GENES - 22)) < 0.05
    truth[np.arange(N_TFS), np.arange(N_TFS)] = 0
    tf_expr = rng.normal(size=(N_TFS, N_CELLS))
    expr = rng.normal(size=(N_GENES, N_CELLS)) * 0.5
    expr[:N_TFS] = tf_expr
    expr[N_TFS:] += truth[:, N_TFS:].T @ tf_expr
    return genes, truth, expr


def evidence_table(genes, truth, expr, seed=0) -> pd.DataFrame:
    """Every TF x gene pair with the RNA evidence columns: GRNBoost2 importance that tells
    true edges apart (noisily), the expression correlation, and no cell-specific signal."""
    rng = np.random.default_rng(seed)
    tf, target = np.meshgrid(np.arange(N_TFS), np.arange(N_GENES), indexing="ij")
    tf, target = tf.ravel(), target.ravel()
    keep = tf != target
    tf, target = tf[keep], target[keep]
    corr = np.corrcoef(expr)[tf, target]
    importance = np.clip(truth[tf, target] + rng.normal(0, 0.6, len(tf)), 0, None)
    table = pd.DataFrame({"TF": np.asarray(genes)[tf], "Target": np.asarray(genes)[target]})
    for group in RNA_EVIDENCE_GROUPS:
        for column in EVIDENCE_GROUPS[group]:
            table[column] = 0.0
    grnboost2 = dict.fromkeys(EVIDENCE_GROUPS["grnboost2"], importance)
    coexpression = {c: (corr if c.startswith("r") else np.abs(corr)) for c in EVIDENCE_GROUPS["coexpression"]}
    return table.assign(**grnboost2, **coexpression)


def synthetic_split(genes, truth, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for tf in range(N_TFS):
        for label in (1, 0):
            targets = rng.permutation([t for t in range(N_GENES) if t != tf and truth[tf, t] == label])
            cut1, cut2 = int(0.67 * len(targets)), int(0.77 * len(targets))
            for i, t in enumerate(targets):
                part = "train" if i < cut1 else "validation" if i < cut2 else "test"
                rows.append((genes[tf], genes[t], label, part, tf, t))
    return pd.DataFrame(rows, columns=["TF", "Target", "label", "part", "tf", "target"])


@pytest.fixture(scope="module")
def inputs() -> RunInputs:
    return synthetic_inputs()


def synthetic_inputs() -> RunInputs:
    genes, truth, expr = synthetic_network()
    rng = np.random.default_rng(1)
    embedding = tdata.zscore_rows(np.hstack([expr[:, :8], rng.normal(size=(N_GENES, 4))]).T).T.copy()
    tf_idx, target_idx = np.meshgrid(np.arange(N_TFS), np.arange(N_GENES), indexing="ij")
    corr = np.corrcoef(expr)
    baseline = pd.DataFrame({"TF": np.array(genes)[tf_idx.ravel()], "Target": np.array(genes)[target_idx.ravel()],
                             "pearson": np.abs(corr[tf_idx.ravel(), target_idx.ravel()])})
    baseline["grnboost2"], baseline["celltype_grn"] = np.random.default_rng(2).random((2, len(baseline)))
    return RunInputs(
        genes=tdata.GeneData(genes=genes, tfs=genes[:N_TFS], features=tdata.zscore_rows(expr), embedding=embedding),
        split=synthetic_split(genes, truth, seed=0),
        baseline_scores=baseline,
        prior_tables=[pd.DataFrame({"TF": [genes[0]], "target": [genes[30]], "importance": [1.0]})],
        evidence=tdata.pair_evidence(evidence_table(genes, truth, expr), genes, tuple(EVIDENCE_GROUPS), "evidence.tsv"),
    )


def test_scregnet_learns_and_is_deterministic(inputs):
    run = fast_run(Variant(name="full"), top_new_edges=10)
    first = run_variant(inputs, run, seed=3)
    again = run_variant(inputs, run, seed=3)
    row = first.metrics.iloc[0]
    assert row["test_auroc"] > 0.8 and row["val_auroc"] > 0.8
    assert 1 <= row["epochs"] <= FAST.epochs
    cols = ["val_auroc", "test_auroc", "test_auprc", "epochs"]
    assert first.metrics[cols].equals(again.metrics[cols])
    assert first.test_scores.equals(again.test_scores)


def test_pair_coexpression_variant_learns_and_is_deterministic(inputs):
    run = fast_run(Variant(name="pair", pair_coexpression=True, classifier_layers=1))
    first = run_variant(inputs, run, seed=1)
    again = run_variant(inputs, run, seed=1)
    assert first.metrics.iloc[0]["test_auroc"] > 0.8
    assert first.test_scores.equals(again.test_scores)


def test_scregnet_keys_are_refused_for_other_models():
    with pytest.raises(ValueError, match="scRegNet keys"):
        Variant(name="g", model="genelink", pair_coexpression=True)


def test_every_graph_model_gets_the_same_edge_holdout_and_genelink_its_published_optimisation():
    settings = TrainSettings.from_config({"edge_holdout": 0.3, "lr": 0.001, "genelink_epochs": 7,
                                          "variants": [{"name": "s"}, {"name": "g", "model": "genelink"}]})
    scregnet = settings.variant_run("s", protocol="genelink").fit
    genelink_run = settings.variant_run("g", protocol="genelink")
    assert scregnet.edge_holdout == 0.3 and scregnet.lr == 0.001
    assert genelink_run.fit.edge_holdout == 0.3 and genelink_run.model is None
    genelink = TrainSettings().genelink_fit_options()
    assert (genelink.lr, genelink.lr_decay, genelink.batch_size, genelink.epochs) == (3e-3, 0.99, 256, 20)
    assert genelink.weight_decay == 0.0 and genelink.optimizer == "adam"
    assert genelink.patience == genelink.epochs  # no early stopping, as published
    assert genelink_run.fit.epochs == genelink_run.fit.patience == 7


def test_test_labels_never_steer_training(inputs):
    """Flipping every test label changes the test metrics only: epochs, the chosen model and
    the validation AUROC are the same (early stopping and model choice see validation only)."""
    split = inputs.split.copy()
    is_test = split["part"] == "test"
    split.loc[is_test, "label"] = 1 - split.loc[is_test, "label"]
    flipped = RunInputs(genes=inputs.genes, split=split, baseline_scores=inputs.baseline_scores)
    run = fast_run(Variant(name="no_emb", embedding=False), top_new_edges=5)
    clean = run_variant(inputs, run, 0).metrics.iloc[0]
    dirty = run_variant(flipped, run, 0).metrics.iloc[0]
    assert clean["epochs"] == dirty["epochs"] and clean["val_auroc"] == dirty["val_auroc"]
    assert dirty["test_auroc"] == pytest.approx(1 - clean["test_auroc"])


def test_noise_replicates_and_genelink(inputs):
    run = fast_run(Variant(name="genelink", model="genelink", noise=True), noise_levels=[2.0, 4.0], noise_replicates=2)
    assert run.model is None and (run.fit.epochs, run.fit.batch_size, run.fit.lr_decay) == (20, 128, 0.99)
    result = run_variant(inputs, run, seed=0)
    metrics = result.metrics
    assert len(metrics) == 1 + 2 * 2
    assert metrics[["noise", "replicate"]].values.tolist() == [[0, 0], [2, 0], [2, 1], [4, 0], [4, 1]]
    assert metrics["test_auroc"].notna().all()
    # different corrupted priors give different models
    assert metrics.loc[metrics["noise"] == 4, "test_auroc"].nunique() == 2


@pytest.mark.parametrize("model", UNSUPERVISED_MODELS)
def test_unsupervised_scores_from_the_grn_stage(inputs, model):
    run = fast_run(Variant(name="unsupervised", model=model, noise=True), noise_levels=[1.0], noise_replicates=3)
    assert run.noise_levels == () and run.fit is None  # an unsupervised score has no label-noise runs
    result = run_variant(inputs, run, 0)
    assert len(result.metrics) == 1 and result.metrics.iloc[0]["epochs"] == 0
    scores = inputs.baseline_scores.set_index(["TF", "Target"])[model]
    expected = scores.loc[list(zip(result.test_scores["TF"], result.test_scores["Target"]))].to_numpy()
    assert np.allclose(result.test_scores["score"].to_numpy(), expected)


def test_prior_perturbation_adds_edges(inputs):
    variant = Variant(name="p", embedding=False, perturbation="prior", perturbation_ratio=0.5)
    row = run_variant(inputs, fast_run(variant, top_new_edges=1), 0).metrics.iloc[0]
    assert row["added_edges"] == 1  # the prior table holds one benchmark edge


def test_coexpression_perturbation_swaps_a_share_of_the_edges_per_epoch(inputs):
    variant = Variant(name="p", embedding=False, perturbation="coexpression", perturbation_ratio=0.5)
    row = run_variant(inputs, fast_run(variant, top_new_edges=1), 0).metrics.iloc[0]
    plain = run_variant(inputs, fast_run(Variant(name="n", embedding=False), top_new_edges=1), 0).metrics.iloc[0]
    assert row["graph_edges"] == plain["graph_edges"]  # swapped, not added
    assert row["added_edges"] == round(0.5 * row["graph_edges"])


def test_new_edges_rank_all_candidates_outside_training(inputs):
    genes = inputs.genes
    scorer = lambda tf, target: (tf * 100 + target).astype(float)  # noqa: E731 - a known ranking
    ranked = rank_new_edges(scorer, genes, inputs.split, top=0)
    train = inputs.split[inputs.split["part"] == "train"]
    assert not set(zip(ranked["TF"], ranked["Target"])) & set(zip(train["TF"], train["Target"]))
    assert (ranked["TF"] != ranked["Target"]).all()
    assert len(ranked) == N_TFS * (N_GENES - 1) - len(train)
    assert ranked["score"].is_monotonic_decreasing and ranked["rank"].tolist() == list(range(1, len(ranked) + 1))


@pytest.fixture
def contract_files(tmp_path, inputs) -> dict[str, str]:
    """The inputs as the workflow's files: preprocessed object, embedding, and the splits of
    seeds 0 and 1 (synthetic_split of each seed)."""
    genes = inputs.genes.genes
    rna = ad.AnnData(X=inputs.genes.features.T.copy(),
                     var=pd.DataFrame({"is_tf": [g in inputs.genes.tfs for g in genes], "selected": True}, index=genes))
    rna.obs["cell_type"] = pd.Categorical(["c"] * N_CELLS)
    rna.obs_names = [f"cell{i}" for i in range(N_CELLS)]
    rna.uns["network"] = pd.DataFrame({"Gene1": ["G0"], "Gene2": ["G7"], "cell_type": ["c"]})
    rna.write_h5ad(tmp_path / "pre.h5ad")
    ad.AnnData(X=inputs.genes.embedding, obs=pd.DataFrame(index=genes)).write_h5ad(tmp_path / "emb.h5ad")
    files = {"preprocessed": str(tmp_path / "pre.h5ad"), "embedding": str(tmp_path / "emb.h5ad")}
    network = synthetic_network()
    for seed in (0, 1):
        split = synthetic_split(*network[:2], seed=seed).drop(columns=["tf", "target"])
        split.to_csv(tmp_path / f"split{seed}.tsv", sep="\t", index=False)
        files[f"split{seed}"] = str(tmp_path / f"split{seed}.tsv")
    return files


def seed_job(directory, run: VariantRun, seed: int, split: str) -> SeedJob:
    outputs = {k: str(directory / f"seed{seed}_{k}.tsv") for k in ("metrics", "test_scores", "new_edges")}
    return SeedJob(seed=seed, run=run, split=split, outputs={**outputs, "info": str(directory / f"seed{seed}.json")})


def test_run_to_files_reads_contract_files_and_writes_outputs(tmp_path, contract_files):
    settings = TrainSettings(epochs=5, patience=2, hidden=8, mlp_hidden=8, noise_levels=(3,), noise_replicates=1,
                             top_new_edges=7, variants=(Variant(name="full", noise=True),))
    run = settings.variant_run("full", protocol="genelink")
    job = seed_job(tmp_path, run, 4, contract_files["split0"])
    run_to_files([job], dataset_name="syn", protocol="genelink", preprocessed=contract_files["preprocessed"],
                 embedding=contract_files["embedding"], device="cpu")
    table = gather_metrics([job.outputs["metrics"], job.outputs["metrics"]])
    assert len(table) == 4 and set(table["dataset"]) == {"syn"} and set(table["noise"]) == {0, 3}
    assert set(table["protocol"]) == {"genelink"}
    assert len(pd.read_csv(job.outputs["new_edges"], sep="\t")) == 7
    info = json.loads(Path(job.outputs["info"]).read_text())
    assert info["seed"] == 4 and info["protocol"] == "genelink" and "torch" in info["versions"]
    assert info["device"] == "cpu"
    assert from_params(VariantRun, info["settings"]) == run  # the run's settings, recorded in full


@pytest.mark.parametrize("variant", [Variant(name="full", noise=True), Variant(name="gl", model="genelink", noise=True),
                                     Variant(name="d", model="degree", noise=True)], ids=lambda v: v.model)
def test_a_job_of_several_seeds_gives_each_seed_the_numbers_of_its_own_job(tmp_path, contract_files, variant):
    """Seeds trained one after another in one job: every metric of every run (the clean
    run and the label-noise runs, early stopping included), the test scores and the new
    edges equal those of the seed's job alone (to 1e-6; wall times aside)."""
    settings = replace(FAST, variants=(variant,), noise_levels=(3,), noise_replicates=2, top_new_edges=20,
                       patience=3)
    runs = {seed: settings.variant_run(variant.name, protocol="genelink", seed=seed) for seed in (0, 1)}
    together, alone = tmp_path / "together", tmp_path / "alone"
    together.mkdir(), alone.mkdir()
    files = dict(dataset_name="syn", protocol="genelink", preprocessed=contract_files["preprocessed"],
                 embedding=contract_files["embedding"], device="cpu")
    jobs = [seed_job(together, runs[seed], seed, contract_files[f"split{seed}"]) for seed in (0, 1)]
    run_to_files(jobs, **files)
    for seed in (1, 0):
        run_to_files([seed_job(alone, runs[seed], seed, contract_files[f"split{seed}"])], **files)
    stopped_early = False
    for job in jobs:
        single = seed_job(alone, runs[job.seed], job.seed, job.split)
        for key in ("metrics", "test_scores", "new_edges"):
            batch, own = (pd.read_csv(j.outputs[key], sep="\t").drop(columns="wall_s", errors="ignore")
                          for j in (job, single))
            pd.testing.assert_frame_equal(batch, own, check_exact=False, rtol=1e-6, atol=1e-6)
        metrics = pd.read_csv(job.outputs["metrics"], sep="\t")
        assert len(metrics) == (1 + 2 if job.seed in settings.noise_seeds else 1)
        stopped_early |= bool((metrics["epochs"] < settings.epochs).any())
    assert variant.model != "scregnet" or stopped_early, "no run stopped early: the test would not cover it"


def test_without_validation_pairs_training_runs_all_epochs(inputs):
    no_validation = RunInputs(genes=inputs.genes, split=inputs.split[inputs.split["part"] != "validation"])
    run = fast_run(Variant(name="v", embedding=False), top_new_edges=1)
    row = run_variant(no_validation, run, 0).metrics.iloc[0]
    assert row["epochs"] == FAST.epochs and np.isnan(row["val_auroc"]) and row["test_auroc"] > 0.5


def test_cross_attention_fusion_variant_trains(inputs):
    run = fast_run(Variant(name="xattn", fusion="cross_attention"), top_new_edges=1)
    row = run_variant(inputs, run, 0).metrics.iloc[0]
    assert row["test_auroc"] > 0.7
    with pytest.raises(ValueError, match="needs the GNN and the embedding"):
        Variant(name="bad", fusion="cross_attention", embedding=False)


def test_optuna_tunes_on_validation_within_the_published_space(inputs):
    settings = TrainSettings.from_config({"optuna": True, "optuna_trials": 2, "epochs": 3, "patience": 2, "hidden": 8,
                                          "variants": [{"name": "tuned", "embedding": False}]})
    run = fast_run(settings.variant("tuned"), top_new_edges=1, settings=settings)
    assert run.optuna_trials == 2
    result = run_variant(inputs, run, 0)
    tuned = result.tuned
    assert set(tuned) == {"gnn_layers", "mlp_layers", "hidden", "dropout", "lr", "optimizer"}
    assert 1 <= tuned["gnn_layers"] <= 6 and 4 <= tuned["hidden"] <= 256 and 1e-5 <= tuned["lr"] <= 1e-2
    assert np.isfinite(result.metrics.iloc[0]["test_auroc"])


def test_degree_baseline_never_reads_test_labels(inputs):
    """Permuting the test labels leaves every score and the validation metrics unchanged."""
    split = inputs.split.copy()
    is_test = split["part"] == "test"
    split.loc[is_test, "label"] = np.random.default_rng(0).permutation(split.loc[is_test, "label"].to_numpy())
    permuted = RunInputs(genes=inputs.genes, split=split)
    run = fast_run(Variant(name="degree", model="degree"), top_new_edges=20)
    clean = run_variant(inputs, run, 0)
    shuffled = run_variant(permuted, run, 0)
    assert np.array_equal(clean.test_scores["score"], shuffled.test_scores["score"])
    assert clean.new_edges.equals(shuffled.new_edges)
    assert clean.metrics.iloc[0]["val_auroc"] == shuffled.metrics.iloc[0]["val_auroc"]
    assert clean.metrics.iloc[0]["test_auroc"] > 0.8  # the synthetic hub targets are a degree signal


def test_degree_baseline_has_label_noise_runs(inputs):
    run = fast_run(Variant(name="degree", model="degree", noise=True), noise_levels=[10.0], noise_replicates=2)
    result = run_variant(inputs, run, 0)
    assert result.metrics["noise"].tolist() == [0.0, 10.0, 10.0]
    assert result.metrics["test_auroc"].nunique() == 3


def test_metrics_rows_hold_per_tf_scores_and_epr(inputs):
    row = run_variant(inputs, fast_run(Variant(name="pcc", model="pearson")), 0).metrics.iloc[0]
    for column in ("test_auroc", "test_auprc", "test_auroc_per_tf", "test_auprc_per_tf", "test_epr"):
        assert np.isfinite(row[column])
    assert 0 <= row["test_auroc_per_tf"] <= 1 and row["test_epr"] >= 0
