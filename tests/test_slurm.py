"""The SLURM profile (profiles/slurm): what it asks for, and a real run on a single-node SLURM.

The integration test installs and starts SLURM on this machine with tests/slurm/setup_slurm.sh
(needs root and apt; skipped with the reason otherwise), runs the whole default target of
tests/data/tiny.yaml, narrowed by tests/slurm/fewer_jobs.yaml to one protocol and a few
variants (every rule still runs), through the profile with the documented command, and
checks in `sacct` that every job Snakemake submitted ran as a SLURM job of this run and
COMPLETED.

The test node has no GPU, and SLURM refuses a GPU request there. So the run sets the
profile's documented switch GRNLINK_SLURM_GPUS=0 (pretrain and embed run on CPU; every other
resource of the profile stays as it is), and caps threads at this machine's cores with
`--max-threads` (speed only). Checked apart, after the run: submitting pretrain with the
profile unchanged gives an sbatch call with `--gpus=1`, which the GPU-less node refuses; and
the documented command without `--max-threads` gives GRNBoost2 the profile's threads as
SLURM CPUs (the setup offers SLURM at least 8 CPUs on this node, sharing the real cores).
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yte

from conftest import ROOT, SNAKEMAKE, run_snakemake

PROFILE_DIR = ROOT / "profiles" / "slurm"
SETUP_SCRIPT = ROOT / "tests" / "slurm" / "setup_slurm.sh"
TINY = ROOT / "tests" / "data" / "tiny.yaml"
FEWER_JOBS = ROOT / "tests" / "slurm" / "fewer_jobs.yaml"
GPU_RULES = ("pretrain", "embed")
SITE_VARIABLES = (
    "GRNLINK_SLURM_PARTITION", "GRNLINK_SLURM_GPU_PARTITION", "GRNLINK_SLURM_ACCOUNT", "GRNLINK_SLURM_GPUS",
)


def load_profile() -> dict:
    """The profile as Snakemake reads it: a YTE template evaluated in this environment."""
    with open(PROFILE_DIR / "profile.yaml") as stream:
        return yte.process_yaml(stream, require_use_yte=True)


def environment_without_site_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SITE_VARIABLES}


@pytest.fixture
def no_site_settings(monkeypatch):
    for name in SITE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_profile_uses_the_slurm_executor_with_default_resources(no_site_settings):
    profile = load_profile()
    assert profile["executor"] == "slurm"
    defaults = profile["default-resources"]
    assert defaults["mem_mb"] >= 1000
    assert defaults["runtime"] >= 10
    # Evaluated per job by Snakemake: --cpus-per-task follows the job's threads.
    assert defaults["cpus_per_task"] == "threads"
    # Partition and account are the user's, never the project's.
    assert not {"slurm_partition", "slurm_account"} & set(defaults)


def test_profile_asks_a_gpu_for_pretrain_and_embed_and_never_gres(no_site_settings):
    profile = load_profile()
    for rule in GPU_RULES:
        assert profile["set-resources"][rule]["gpu"] == 1
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        assert "gres" not in resources
        assert "--gres" not in str(resources.get("slurm_extra", ""))


def test_grnboost2_gets_more_threads_and_memory_than_the_default(no_site_settings):
    profile = load_profile()
    assert profile["set-threads"]["grn_celltype"] > 1
    assert profile["set-resources"]["grn_celltype"]["mem_mb"] > profile["default-resources"]["mem_mb"]


def test_gpus_can_be_switched_off_for_a_cluster_without_gpus(no_site_settings, monkeypatch):
    monkeypatch.setenv("GRNLINK_SLURM_GPUS", "0")
    profile = load_profile()
    for rule in GPU_RULES:
        assert profile["set-resources"][rule]["gpu"] == 0
        assert profile["set-resources"][rule]["mem_mb"] > 0


def test_partition_and_account_come_from_the_users_environment(monkeypatch):
    monkeypatch.setenv("GRNLINK_SLURM_PARTITION", "cpu_queue")
    monkeypatch.setenv("GRNLINK_SLURM_GPU_PARTITION", "gpu_queue")
    monkeypatch.setenv("GRNLINK_SLURM_ACCOUNT", "lab42")
    profile = load_profile()
    assert profile["default-resources"]["slurm_partition"] == "cpu_queue"
    assert profile["default-resources"]["slurm_account"] == "lab42"
    for rule in GPU_RULES:
        assert profile["set-resources"][rule]["slurm_partition"] == "gpu_queue"
    assert "slurm_partition" not in profile["set-resources"]["grn_celltype"]


def test_every_rule_the_profile_names_exists(tmp_path, no_site_settings):
    listed = run_snakemake(tmp_path, TINY, "--list-rules", timeout=120)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rules = set(listed.stdout.split())
    profile = load_profile()
    named = set(profile["set-threads"]) | set(profile["set-resources"])
    assert named <= rules, f"the profile names rules the workflow lacks: {sorted(named - rules)}"


# ---- the real SLURM --------------------------------------------------------------------
CANNOT_INSTALL = 3  # setup_slurm.sh's exit status when SLURM cannot be installed here
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def slurm_node() -> dict[str, int]:
    """Install (where needed) and start the single-node SLURM; return the node's cpus and memory."""
    setup = subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900)
    if setup.returncode == CANNOT_INSTALL:
        pytest.skip(f"SLURM cannot be installed here: {setup.stderr.strip()}")
    if setup.returncode != 0:
        pytest.fail(f"{SETUP_SCRIPT.name} could not start SLURM:\n{setup.stderr}\n{setup.stdout}")
    cpus, memory = subprocess.run(
        ["sinfo", "--noheader", "-o", "%c %m"], capture_output=True, text=True, check=True
    ).stdout.split()[:2]
    return {"cpus": int(cpus), "mem_mb": int(memory.rstrip("+"))}


def run_on_slurm(
    command: list[str], workdir: Path, environment: dict[str, str], timeout: int, log_name: str
) -> tuple[int, str]:
    """Run Snakemake (output kept in workdir/log_name); past `timeout`: stop it, cancel its jobs, fail."""
    log = workdir / log_name
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=environment)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=120)
            returncode = None
    output = log.read_text()
    if returncode is None:
        for run_id in re.findall(r"SLURM run ID: (\S+)", output):
            subprocess.run(["scancel", "--name", run_id], check=False)
        pytest.fail(f"the SLURM run did not finish within {timeout} s (jobs cancelled):\n{output[-4000:]}")
    return returncode, output


def slurm_command(workdir: Path, *extra: str) -> list[str]:
    """The documented cluster command; the first status check early, as jobs here are short."""
    return [
        str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(TINY), str(FEWER_JOBS), "--workflow-profile", "none", "--profile", str(PROFILE_DIR),
        "--slurm-init-seconds-before-status-checks", "2",
        *extra,
    ]


@pytest.fixture(scope="module")
def slurm_run(slurm_node, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm_run")
    environment = environment_without_site_settings()
    with pytest.MonkeyPatch.context() as patch:
        for name in SITE_VARIABLES:
            patch.delenv(name, raising=False)
        profile = load_profile()
    largest_memory = max(
        [profile["default-resources"]["mem_mb"]]
        + [r.get("mem_mb", 0) for r in profile["set-resources"].values()]
    )
    if largest_memory > slurm_node["mem_mb"]:
        pytest.skip(f"the node has {slurm_node['mem_mb']} MB; the profile asks up to {largest_memory} MB")
    assert max(profile["set-threads"].values()) <= slurm_node["cpus"], "setup_slurm.sh offers too few CPUs"
    started = datetime.now() - timedelta(minutes=5)
    returncode, output = run_on_slurm(
        slurm_command(workdir, "--max-threads", str(os.cpu_count())),
        workdir, {**environment, "GRNLINK_SLURM_GPUS": "0"}, RUN_TIMEOUT_S, "slurm_run.out",
    )
    return {"workdir": workdir, "returncode": returncode, "output": output, "started": started,
            "environment": environment, "profile": profile}


def sacct_jobs(run_output: str, since: datetime) -> dict[str, tuple[str, str, int]]:
    """SLURM job id -> (state, comment, CPUs) of the jobs SLURM accounted under a run's name."""
    run_id = re.search(r"SLURM run ID: (\S+)", run_output).group(1)
    listing = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "--name", run_id,
         "--starttime", since.strftime("%Y-%m-%dT%H:%M:%S"), "-o", "JobIDRaw,State,AllocCPUS,Comment"],
        capture_output=True, text=True, check=True,
    ).stdout
    jobs = {}
    for line in listing.splitlines():
        job_id, state, cpus, comment = line.split("|", 3)
        jobs[job_id] = (state, comment, int(cpus))
    return jobs


def rule_of(comment: str) -> str:
    """The rule name in the plugin's job comment `rule_<name>[_wildcards_<values>]`."""
    return comment.removeprefix("rule_").split("_wildcards_")[0]


@pytest.mark.slow
@pytest.mark.slurm
def test_every_job_ran_as_a_completed_slurm_job(slurm_run):
    output = slurm_run["output"]
    assert slurm_run["returncode"] == 0, output[-6000:]
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))
    cluster_jobs = re.findall(r"^(?:rule|checkpoint) (\w+):$", output, re.M)
    assert cluster_jobs, "no job was run"
    assert len(submitted) == len(cluster_jobs), "a job ran without being submitted to SLURM"

    accounted = sacct_jobs(output, slurm_run["started"])
    assert set(accounted) == set(submitted.values())
    unfinished = {job: state for job, (state, _, _) in accounted.items() if state != "COMPLETED"}
    assert not unfinished
    assert sorted(rule_of(comment) for _, comment, _ in accounted.values()) == sorted(cluster_jobs)


@pytest.mark.slow
@pytest.mark.slurm
def test_the_slurm_run_built_the_whole_default_target(slurm_run):
    assert slurm_run["returncode"] == 0, slurm_run["output"][-6000:]
    check = run_snakemake(slurm_run["workdir"], TINY, str(FEWER_JOBS), "--dry-run", timeout=120)
    assert check.returncode == 0, check.stderr[-3000:]
    assert "Nothing to be done" in check.stdout + check.stderr


@pytest.mark.slow
@pytest.mark.slurm
def test_the_profile_submits_pretrain_with_a_gpu_request(slurm_run):
    """With the profile unchanged, pretrain's sbatch call asks --gpus=1; this node has none."""
    assert slurm_run["returncode"] == 0, slurm_run["output"][-6000:]
    returncode, output = run_on_slurm(
        slurm_command(slurm_run["workdir"], "--forcerun", "pretrain", "--until", "pretrain"),
        slurm_run["workdir"], slurm_run["environment"], 300, "gpu_request.out",
    )
    assert returncode != 0, output[-3000:]
    call = re.search(r"^\s*sbatch .*--comment rule_pretrain.*$", output, re.M)
    assert call, output[-3000:]
    assert "--gpus=1" in call.group(0)
    assert "--gres" not in call.group(0)
    assert "Invalid generic resource" in output


@pytest.mark.slow
@pytest.mark.slurm
def test_the_documented_command_gives_grnboost2_the_profiles_cpus(slurm_run):
    """Without `--workflow-profile none`, profiles/default's `cores: 2` would cap these jobs."""
    assert slurm_run["returncode"] == 0, slurm_run["output"][-6000:]
    started = datetime.now() - timedelta(minutes=5)
    returncode, output = run_on_slurm(
        slurm_command(slurm_run["workdir"], "--force", "results/tiny/grn/celltype/CT1.tsv"),
        slurm_run["workdir"], {**slurm_run["environment"], "GRNLINK_SLURM_GPUS": "0"}, 600, "grn_cpus.out",
    )
    assert returncode == 0, output[-6000:]
    jobs = sacct_jobs(output, started).values()
    wanted = slurm_run["profile"]["set-threads"]["grn_celltype"]
    grn_jobs = [(state, cpus) for state, comment, cpus in jobs if rule_of(comment) == "grn_celltype"]
    assert grn_jobs == [("COMPLETED", wanted)] and len(jobs) == 1
