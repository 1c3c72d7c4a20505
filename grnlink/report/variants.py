"""What each configured training variant is, for the tables' labels and the figures' roles.

The variants come from the `train.variants` config list (entries with `name`, `model`,
`encoder`, `embedding`, `perturbation`, `perturbation_ratio`, `noise`, `fusion`,
`classifier_layers`, `pair_coexpression`; see the train schema). Labels are built from
those fields so that a user's own variants read well without extra configuration;
`report.labels` overrides any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MODEL_LABELS = {"scregnet": "scRegNet", "genelink": "GENELink", "pearson": "|Pearson|", "grnboost2": "GRNBoost2"}
ENCODER_LABELS = {"gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}
PERTURBATION_LABELS = {"coexpression": "co-expression edges", "prior": "GRN-prior edges"}
# The train stage's defaults for fields a variant entry leaves out (grnlink.train.run.Variant).
VARIANT_DEFAULTS: dict[str, Any] = {
    "model": "scregnet", "encoder": "gcn", "embedding": True, "perturbation": "none",
    "perturbation_ratio": 0.2, "noise": False, "fusion": "concat", "classifier_layers": 0,
    "pair_coexpression": False,
}
DEFAULT_ENCODER = "gcn"
FUSION_LABELS = {"cross_attention": "cross-attention fusion"}
NOISE_MODELS = ("scregnet", "genelink")


@dataclass(frozen=True)
class VariantRoles:
    """Display labels (in table order) and the variants each figure compares."""

    labels: dict[str, str]
    full_model: str | None
    ablations: list[str]
    perturbations: list[str]
    noise: list[str]


def _with_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {**VARIANT_DEFAULTS, **entry}


def variant_label(entry: Mapping[str, Any]) -> str:
    """A reader's name for a variant, from its model, encoder, embedding and perturbation."""
    spec = _with_defaults(entry)
    model = spec["model"]
    label = MODEL_LABELS.get(model, model)
    if model != "scregnet":
        return label
    if spec["encoder"] == "none":
        label += " w/o GNN"
    elif spec["encoder"] != DEFAULT_ENCODER:
        label += f" ({ENCODER_LABELS.get(spec['encoder'], spec['encoder'])})"
    if not spec["embedding"]:
        label += " w/o embedding"
    if spec["fusion"] != VARIANT_DEFAULTS["fusion"]:
        label += f", {FUSION_LABELS.get(spec['fusion'], spec['fusion'])}"
    if spec["pair_coexpression"]:
        label += " + pair co-expression"
    if spec["classifier_layers"]:
        label += f", {int(spec['classifier_layers'])}-hidden-layer classifier"
    if spec["perturbation"] != "none":
        what = PERTURBATION_LABELS.get(spec["perturbation"], spec["perturbation"])
        label += f" + {what} ({100 * float(spec['perturbation_ratio']):g}%)"
    return label


def _is_plain_scregnet(spec: Mapping[str, Any]) -> bool:
    """scRegNet as published: concatenation fusion, linear classifier, no edge perturbation."""
    return (spec["model"] == "scregnet" and spec["perturbation"] == "none" and spec["fusion"] == "concat"
            and not spec["classifier_layers"] and not spec["pair_coexpression"])


def variant_roles(variants: Sequence[Mapping[str, Any]], label_overrides: Mapping[str, str] | None = None) -> VariantRoles:
    """Labels and figure roles of the configured variants, in config order.

    The full model is the first scRegNet variant with a GNN, the embedding and no
    perturbation; the ablations are the scRegNet variants without GNN or without embedding;
    the perturbation variants are compared with the full model; the noise figure shows the
    trained variants that have label-noise runs.
    """
    specs = [_with_defaults(v) for v in variants]
    labels = {spec["name"]: variant_label(spec) for spec in specs}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    labels = {name: (f"{label} [{name}]" if counts[label] > 1 else label) for name, label in labels.items()}
    labels.update(label_overrides or {})

    full = next((s["name"] for s in specs if _is_plain_scregnet(s) and s["encoder"] != "none" and s["embedding"]), None)
    ablations = [s["name"] for s in specs if _is_plain_scregnet(s) and (s["encoder"] == "none" or not s["embedding"])]
    perturbations = [s["name"] for s in specs if s["model"] == "scregnet" and s["perturbation"] != "none"]
    noise = [s["name"] for s in specs if s["noise"] and s["model"] in NOISE_MODELS]
    return VariantRoles(
        labels=labels,
        full_model=full,
        ablations=[full, *ablations] if full and ablations else [],
        perturbations=perturbations if full else [],
        noise=noise,
    )
