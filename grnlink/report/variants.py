"""What each configured training variant is, for the tables' labels and the figures' roles.

The variants are those of the `train.variants` config list (grnlink.settings.Variant);
their labels are built from their fields (`Variant.label`) so that a user's own variants
read well without extra configuration; `report.labels` overrides any of them. The `degree`
model is the label-only baseline (a TF's and a target's share of positive training pairs,
no expression) that the report measures every other method against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grnlink.settings import EVIDENCE_MODELS, Variant

DEGREE_MODEL = "degree"


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
    evidence_ablations: list[str]


def variant_roles(variants: Sequence[Variant], label_overrides: Mapping[str, str] | None = None, *,
                  embedding_model: str | None = None) -> VariantRoles:
    """Labels and figure roles of the configured variants, in config order.

    The full model is the first scRegNet variant as published with a GNN and the
    foundation-model embedding; the ablations are the published scRegNet's variants without
    GNN, without embedding, or with the PCA control in place of the foundation model;
    the perturbation variants are compared with the full model; the noise figure shows the
    variants that have label-noise runs (the degree baseline among them when it has them);
    every link-prediction figure draws the degree variant as its reference; the evidence
    ablation figure compares the models of the pair evidence (grnlink variants, each
    without an evidence group, the GNN or the embedding, and the evidence regression),
    when a grnlink variant is configured. The full model's label names the
    `embedding_model` (what tables and figures call the model whose embedding it reads).
    """
    counts: dict[str, int] = {}
    for variant in variants:
        counts[variant.label] = counts.get(variant.label, 0) + 1
    labels = {v.name: (f"{v.label} [{v.name}]" if counts[v.label] > 1 else v.label) for v in variants}
    full = next((v.name for v in variants
                 if v.is_published_scregnet and v.encoder != "none" and v.embedding_kind == "fm"), None)
    if full and embedding_model:
        labels[full] += f" ({embedding_model})"
    labels.update(label_overrides or {})
    ablations = [v.name for v in variants
                 if v.is_published_scregnet and (v.encoder == "none" or v.embedding_kind != "fm")]
    perturbations = [v.name for v in variants if v.model == "scregnet" and v.perturbation != "none"]
    return VariantRoles(
        labels=labels,
        full_model=full,
        ablations=[full, *ablations] if full and ablations else [],
        perturbations=perturbations if full else [],
        noise=[v.name for v in variants if v.has_noise_runs],
        degree=next((v.name for v in variants if v.model == DEGREE_MODEL), None),
        evidence_ablations=([v.name for v in variants if v.model in EVIDENCE_MODELS]
                            if any(v.model == "grnlink" for v in variants) else []),
    )
