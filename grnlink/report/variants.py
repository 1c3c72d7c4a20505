"""What each configured training variant is, for the tables' labels and the figures' roles.

The variants come from the `train.variants` config list (entries with `name`, `model`,
`encoder`, `embedding`, `perturbation`, `perturbation_ratio`, `noise`, `fusion`,
`classifier_layers`, `pair_coexpression`; see the train schema). Labels are built from
those fields so that a user's own variants read well without extra configuration;
`report.labels` overrides any of them. The `degree` model is the label-only baseline
(a TF's and a target's share of positive training pairs, no expression) that the report
measures every other method against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from grnlink.train.settings import Variant

MODEL_LABELS = {
    "scregnet": "scRegNet", "genelink": "GENELink", "pearson": "|Pearson|", "grnboost2": "GRNBoost2",
    "degree": "Degree baseline (label-only)",
}
ENCODER_LABELS = {"gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}
PERTURBATION_LABELS = {"coexpression": "co-expression edges", "prior": "GRN-prior edges"}
# The train stage's defaults for fields a variant entry leaves out.
VARIANT_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Variant) if f.name != "name"}
FUSION_LABELS = {"cross_attention": "cross-attention fusion"}
DEGREE_MODEL = "degree"
NOISE_MODELS = ("scregnet", "genelink", DEGREE_MODEL)


@dataclass(frozen=True)
class VariantRoles:
    """Display labels (in table order), the variants each figure compares, and the
    label-only reference (`degree`: the first variant with model `degree`, or None)."""

    labels: dict[str, str]
    full_model: str | None
    ablations: list[str]
    perturbations: list[str]
    noise: list[str]
    degree: str | None


def _with_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {**VARIANT_DEFAULTS, **entry}


def variant_label(entry: Mapping[str, Any]) -> str:
    """A reader's name for a variant, from its model, encoder, embedding and perturbation.

    Only scRegNet variants are told apart by those fields; other models (GENELink, the
    degree and unsupervised baselines) are named by the model alone.
    """
    spec = _with_defaults(entry)
    model = spec["model"]
    label = MODEL_LABELS.get(model, model)
    if model != "scregnet":
        return label
    if spec["encoder"] == "none":
        label += " w/o GNN"
    elif spec["encoder"] != VARIANT_DEFAULTS["encoder"]:
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


def variant_roles(
    variants: Sequence[Mapping[str, Any]], label_overrides: Mapping[str, str] | None = None
) -> VariantRoles:
    """Labels and figure roles of the configured variants, in config order.

    The full model is the first scRegNet variant with a GNN, the embedding and no
    perturbation; the ablations are the scRegNet variants without GNN or without embedding;
    the perturbation variants are compared with the full model; the noise figure shows the
    variants that have label-noise runs (the degree baseline among them when it has them);
    every link-prediction figure draws the degree variant as its reference.
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
        degree=next((s["name"] for s in specs if s["model"] == DEGREE_MODEL), None),
    )
