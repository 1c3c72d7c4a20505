"""Does the self-pretrained model learn? Its held-out masked-token loss and accuracy before
and after pretraining, against uniform chance and the gene-frequency prior.

Reads the `pretraining.json` of finished pipeline runs (the `pretrain` rule's model
directory, results/embed/model/ of a working directory) and writes one section of
bench/RESULTS.md. Run it after runs of the configs to compare, e.g. the embedding control
benches:

    .venv/bin/python bench/pretraining_bench.py --run demo=/tmp/ec-demo --run "hHEP+mDC+mHSC-L=/tmp/ec-shipped"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import update_section  # noqa: E402

from grnlink.report.embedding import read_pretraining_record  # noqa: E402

MODEL_DIR = "results/embed/model"


def summary_row(name: str, record: dict) -> dict[str, object]:
    """One run: data, schedule and held-out scores against both references."""
    history, settings = record["history"], record["settings"]
    before, after = history["before"], history["after"]
    uniform, prior = history["uniform_chance"], history["frequency_prior"]
    return {
        "cells seen by": name,
        "model": f"{settings['num_layers']} layers x {settings['hidden_size']}",
        "cells / genes": f"{record['n_cells']} / {record['n_genes']}",
        "held-out cells / tokens": f"{history['held_out_cells']} / {history['held_out_tokens']}",
        "steps (best, stopped by)": f"{history['steps_run']} ({history['best_step']}, {history['stopped_by']})",
        "train s": f"{history['seconds']:.1f}",
        "loss before -> after": f"{before['loss']:.3f} -> {after['loss']:.3f}",
        "uniform loss": f"{uniform['loss']:.3f}",
        "prior loss": f"{prior['loss']:.3f}",
        "below prior (nats)": f"{history['beats_frequency_prior_by']:+.3f}",
        "accuracy before -> after": f"{before['accuracy']:.4f} -> {after['accuracy']:.4f}",
        "uniform acc.": f"{uniform['accuracy']:.4f}",
        "prior acc.": f"{prior['accuracy']:.4f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=WORKDIR",
                        help="a finished run: a name for its data and its working directory")
    args = parser.parse_args()
    rows = []
    for item in args.run:
        name, workdir = item.split("=", 1)
        rows.append(summary_row(name, read_pretraining_record(Path(workdir) / MODEL_DIR)))
    body = (
        "Held-out cells are masked once, every chosen token shown as `<mask>`; loss in nats per masked token. "
        "Uniform: every gene token equally likely (ln V). Prior: the genes' frequencies among the training cells' "
        "tokens. A model below the prior has learned more than which genes are common.\n\n"
        + pd.DataFrame(rows).to_markdown(index=False)
    )
    update_section("Self-pretraining against chance (issue 18)", body)


if __name__ == "__main__":
    main()
