"""Reliability probes: bad inputs, killed runs and download faults, each with its outcome.

One command runs them all on this machine, offline (downloads against a local HTTP server on
127.0.0.1), and rewrites the section "Reliability probes" of bench/RESULTS.md:

    .venv/bin/python bench/reliability.py            # about 10 minutes on 2 cores
    .venv/bin/python bench/reliability.py --skip-kills   # without the two killed pipeline runs

A probe passes when the run fails fast with the file (and line or key) at fault named, and
nothing wrong is written; a killed run passes when the rerun finishes without redoing the
jobs that had finished and no output is a half file.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reliability_downloads import download_probes  # noqa: E402
from results import update_section  # noqa: E402

from grnlink.errors import InputError  # noqa: E402
from grnlink.genelink import genelink_files  # noqa: E402
from grnlink.preprocess import preprocess_dataset  # noqa: E402
from grnlink.settings import GenelinkDataset  # noqa: E402

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
GENELINK = ROOT / "resources" / "beeline" / "hHEP" / "TFs+500"
TINY = ROOT / "tests" / "data" / "tiny.yaml"


@dataclass
class Probe:
    name: str
    expected: str
    outcome: str
    passed: bool

    def row(self) -> str:
        return f"| {self.name} | {self.expected} | {self.outcome} | {'pass' if self.passed else '**FAIL**'} |"


# ---- bad inputs ------------------------------------------------------------------------
def _genelink_copy(workdir: Path, edit: Callable[[Path], None]) -> Path:
    folder = workdir / "hHEP" / "TFs+500"
    shutil.copytree(GENELINK, folder)
    edit(folder)
    return folder


def _edit_line(name: str, line: int, change: Callable[[str], str]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / name).read_text().splitlines(keepends=True)
        lines[line - 1] = change(lines[line - 1])
        (folder / name).write_text("".join(lines))
    return edit


def _keep_lines(name: str, n: int) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / name).read_text().splitlines(keepends=True)
        (folder / name).write_text("".join(lines[:n]))
    return edit


def _cut_mid_row(name: str, line: int) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / name).read_text().splitlines(keepends=True)
        (folder / name).write_text("".join(lines[:line - 1]) + lines[line - 1][: len(lines[line - 1]) // 2])
    return edit


def _gene_listed_twice(folder: Path) -> None:
    """Target.csv's third line names the gene of its second line."""
    lines = (folder / "Target.csv").read_text().splitlines(keepends=True)
    row, gene, index = lines[2].split(",")
    lines[2] = ",".join([row, lines[1].split(",")[1], index])
    (folder / "Target.csv").write_text("".join(lines))


GENELINK_PROBES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("GENELink: a gene listed twice in Target.csv", _gene_listed_twice, ["Target.csv", "line 3", "twice"]),
    ("GENELink: Label.csv TF index out of range",
     _edit_line("Label.csv", 2, lambda line: ",".join([line.split(",")[0], "9999", line.split(",", 2)[2]])),
     ["Label.csv", "line 2", "9999"]),
    ("GENELink: expression file truncated mid-row",
     _cut_mid_row("BL--ExpressionData.csv", 40), ["BL--ExpressionData.csv", "line 40", "truncated"]),
    ("GENELink: expression file with only its header",
     _keep_lines("BL--ExpressionData.csv", 1), ["BL--ExpressionData.csv", "no gene"]),
    ("GENELink: semicolon-delimited expression file",
     lambda f: (f / "BL--ExpressionData.csv").write_text((f / "BL--ExpressionData.csv").read_text().replace(",", ";")),
     ["BL--ExpressionData.csv", "delimit"]),
]


def genelink_probe(name: str, edit: Callable[[Path], None], wanted: list[str]) -> Probe:
    expected = "InputError naming " + ", ".join(f"`{w}`" for w in wanted) + "; no output"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = _genelink_copy(workdir, edit)
        output = workdir / "preprocessed.h5ad"
        try:
            preprocess_dataset("hHEP", GenelinkDataset(path=str(folder)), inputs=genelink_files(folder), output=output)
        except InputError as error:
            message = str(error).replace(str(workdir) + "/", "")
            named = all(w.lower() in message.lower() for w in wanted)
            return Probe(name, expected, f"InputError: {message[:160]}", named and not output.exists())
        except Exception as error:  # noqa: BLE001  (an unexpected error type is the finding)
            return Probe(name, expected, f"{type(error).__name__}: {str(error)[:160]}", False)
        return Probe(name, expected, "accepted (exit 0)", False)


# ---- bad configs (stopped before any job is scheduled) ---------------------------------
CONFIG_PROBES: list[tuple[str, str, list[str]]] = [
    ("config: misspelt key", "datasets: {d: {source: simulate, n_cels: 100}}\n", ["n_cels"]),
    ("config: wrong type", "datasets: {d: {source: simulate}}\nseeds: [-2]\n", ["seeds.0", "minimum"]),
    ("config: a GENELink folder that does not exist",
     "datasets: {d: {source: genelink, path: no/such/TFs+500}}\n", ["datasets.d.path", "no/such/TFs+500"]),
]


def config_probe(name: str, config: str, wanted: list[str]) -> Probe:
    expected = "stops before scheduling, naming " + ", ".join(f"`{w}`" for w in wanted)
    with tempfile.TemporaryDirectory() as tmp:
        configfile = Path(tmp) / "config.yaml"
        configfile.write_text(config)
        result = subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", tmp, "-n",
                                 "--configfile", str(configfile)], capture_output=True, text=True)
        output = result.stdout + result.stderr
        message = next((line.strip() for line in output.splitlines()
                        if all(w in line for w in wanted[:1])), output.strip().splitlines()[-1])
        ok = result.returncode != 0 and all(w in output for w in wanted) and "Building DAG" not in output
        return Probe(name, expected, f"exit {result.returncode}: {message[:160]}", ok)


# ---- killed runs -----------------------------------------------------------------------
def _run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2",
                           "--configfile", str(TINY), *args], capture_output=True, text=True)


def unfinished_outputs(workdir: Path) -> set[Path]:
    """Outputs of the jobs Snakemake had started but not recorded as finished: the markers of
    its file-based metadata in `.snakemake/incomplete/` (a url-safe base64 of the path, split
    into `@`-prefixed folders when long)."""
    markers = workdir / ".snakemake" / "incomplete"
    paths = set()
    for marker in (p for p in markers.rglob("*") if p.is_file()):
        encoded = "".join(part.lstrip("@") for part in marker.relative_to(markers).parts)
        try:
            paths.add(workdir / base64.urlsafe_b64decode(encoded).decode())
        except ValueError:
            continue  # not a marker (e.g. a migration flag)
    return paths


def kill_probe(sig: signal.Signals, after_s: float) -> Probe:
    """Start the tiny pipeline, send `sig` after `after_s` s, rerun; count the finished jobs'
    outputs rewritten (those of jobs killed mid-way are rebuilt, as they must be)."""
    name = f"tiny pipeline killed by {sig.name} after {after_s:g} s, then rerun"
    expected = "rerun finishes; finished jobs not redone; no half file"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        process = subprocess.Popen([str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
                                    "--cores", "2", "--configfile", str(TINY)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(after_s)
        os.killpg(process.pid, sig)
        process.wait()
        unfinished = unfinished_outputs(workdir)
        present = {p for p in workdir.glob("results/**/*") if p.is_file()}
        finished = {p: p.stat().st_mtime for p in present - unfinished if not p.name.startswith(".")}
        # atomic writers' temporary names (grnlink.io.atomic_path): never read as outputs
        temporary = [p for p in present if p.name.startswith(".") and ".tmp" in p.name]
        if sig == signal.SIGKILL:
            _run(workdir, "--unlock")
        rerun = _run(workdir)
        redone = sorted(str(p.relative_to(workdir)) for p, mtime in finished.items() if p.stat().st_mtime != mtime)
        ok = rerun.returncode == 0 and not redone
        outcome = (f"{len(finished)} outputs of finished jobs, {len(present & unfinished)} of killed jobs, "
                   f"{len(temporary)} temporary files; rerun exit {rerun.returncode}; "
                   f"{len(redone)} finished outputs rewritten"
                   + (f" (e.g. {redone[0]})" if redone else ""))
        return Probe(name, expected, outcome, ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-kills", action="store_true")
    args = parser.parse_args()
    probes = [genelink_probe(*probe) for probe in GENELINK_PROBES] + [config_probe(*p) for p in CONFIG_PROBES]
    if not args.skip_kills:
        probes += [kill_probe(signal.SIGTERM, 60), kill_probe(signal.SIGKILL, 90)]
    probes += [Probe(p["probe"], p["expected"], p["outcome"], p["passed"]) for p in download_probes()]
    table = "\n".join(["| probe | expected | outcome | |", "|---|---|---|---|", *(p.row() for p in probes)])
    passed = sum(p.passed for p in probes)
    print(table)
    update_section("Reliability probes (issue 17)", f"{passed} of {len(probes)} probes pass.\n\n{table}\n")


if __name__ == "__main__":
    main()
