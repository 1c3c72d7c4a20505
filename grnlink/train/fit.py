"""Training with early stopping and model choice on the validation split only.

The test split never enters this module: `run` scores it once, after training. The network
trains on the device its inputs are on (`GraphInputs.to`, `LabelledPairs.to`); the
trainer's own draws (batch order, edge hold-outs, swaps) come from one CPU generator on any
device, so that a seed draws the same pairs and edges on the CPU and a GPU.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.utils import coalesce

from grnlink.reproducibility import seed_everything
from grnlink.train.metrics import auroc
from grnlink.settings import OPTIMIZER_NAMES, FitOptions

log = logging.getLogger(__name__)

OPTIMIZERS = dict(zip(OPTIMIZER_NAMES, (torch.optim.Adam, torch.optim.RMSprop, torch.optim.SGD)))


@dataclass(frozen=True)
class EdgeSwap:
    """GRNFormer's edge perturbation: in every training epoch, `fraction` of the training
    graph's undirected edges, drawn anew, are swapped for as many co-expression links drawn
    from `pool` (2 x P gene pairs, one direction each, none of them a training edge)."""

    pool: torch.Tensor
    fraction: float

    def to(self, device: torch.device) -> EdgeSwap:
        return replace(self, pool=self.pool.to(device))

    def apply(self, edge_index: torch.Tensor, n_nodes: int, generator: torch.Generator) -> torch.Tensor:
        pairs = edge_index[:, edge_index[0] < edge_index[1]]
        n_swap = min(int(round(self.fraction * pairs.shape[1])), self.pool.shape[1])
        kept = pairs[:, torch.randperm(pairs.shape[1], generator=generator).to(pairs.device)[n_swap:]]
        added = self.pool[:, torch.randperm(self.pool.shape[1], generator=generator).to(pairs.device)[:n_swap]]
        both = torch.cat([kept, added], dim=1)
        return coalesce(torch.cat([both, both.flip(0)], dim=1), num_nodes=n_nodes)


@dataclass(frozen=True)
class GraphInputs:
    """What a model sees of the genes: features, training graph, optional embedding, and
    the training graph's per-epoch perturbation (`swap`, None for none)."""

    x: torch.Tensor
    edge_index: torch.Tensor
    embedding: torch.Tensor | None
    swap: EdgeSwap | None = None

    def to(self, device: torch.device) -> GraphInputs:
        return GraphInputs(self.x.to(device), self.edge_index.to(device),
                           None if self.embedding is None else self.embedding.to(device),
                           None if self.swap is None else self.swap.to(device))


@dataclass(frozen=True)
class LabelledPairs:
    """Pairs (gene indices) with labels and, for models fitted on top of the degree
    baseline, each pair's fixed `offset` (the baseline's logit) added to the model's."""

    tf: torch.Tensor
    target: torch.Tensor
    label: torch.Tensor
    offset: torch.Tensor | None = None

    @classmethod
    def of(cls, tf: np.ndarray, target: np.ndarray, label: np.ndarray,
           offset: np.ndarray | None = None) -> LabelledPairs:
        return cls(torch.as_tensor(np.asarray(tf), dtype=torch.long),
                   torch.as_tensor(np.asarray(target), dtype=torch.long),
                   torch.as_tensor(np.asarray(label), dtype=torch.float32),
                   None if offset is None else torch.as_tensor(np.asarray(offset), dtype=torch.float32))

    def to(self, device: torch.device) -> LabelledPairs:
        return LabelledPairs(self.tf.to(device), self.target.to(device), self.label.to(device),
                             None if self.offset is None else self.offset.to(device))

    def subset(self, index: torch.Tensor) -> LabelledPairs:
        return LabelledPairs(self.tf[index], self.target[index], self.label[index],
                             None if self.offset is None else self.offset[index])

    def logits(self, model: nn.Module, inputs: GraphInputs, graph: Any, index: torch.Tensor) -> torch.Tensor:
        """The model's logits of the pairs at `index`, plus their offsets, over `graph`
        (`model.prepare_graph` of the inputs' edge index)."""
        z = model.node_representations(inputs.x, graph, inputs.embedding)
        logits = model.score(z, self.tf[index], self.target[index])
        return logits if self.offset is None else logits + self.offset[index]


@dataclass
class FitResult:
    model: nn.Module
    val_auroc: float
    best_epoch: int
    epochs: int


@torch.no_grad()
def predict(model: nn.Module, inputs: GraphInputs, tf: torch.Tensor, target: torch.Tensor,
            offset: torch.Tensor | None = None, batch_size: int = 65536, graph: Any = None) -> np.ndarray:
    """P(edge) of each (tf, target) pair, with the model in evaluation mode (no dropout) on
    the unperturbed training graph (`graph`: that graph already prepared by the model, to
    save preparing it again); `offset` is added to the logits."""
    model.eval()
    if graph is None:
        graph = model.prepare_graph(inputs.edge_index, inputs.x.shape[0])
    z = model.node_representations(inputs.x, graph, inputs.embedding)
    logits = [model.score(z, tf[i:i + batch_size], target[i:i + batch_size]) for i in range(0, len(tf), batch_size)]
    if not logits:
        return np.zeros(0, dtype=np.float32)
    logits = torch.cat(logits)
    return torch.sigmoid(logits if offset is None else logits + offset).cpu().numpy()


def _pair_keys(a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    return torch.minimum(a, b) * n + torch.maximum(a, b)


@dataclass(frozen=True)
class EdgeHoldOut:
    """Each epoch, `fraction` of the positive training pairs withheld from the graph: the GNN
    then sees those pairs as it sees validation and test pairs (not as edges), and the loss
    runs over them and all negatives only. Which edges belong to which pair depends on
    nothing trained, so it is found once (`of`): every edge and every positive pair carries
    the id of its unordered gene pair, and an epoch drops the edges whose id it drew."""

    fraction: float
    positive: torch.Tensor
    negative: torch.Tensor
    positive_ids: torch.Tensor
    edge_ids: torch.Tensor
    n_ids: int

    @classmethod
    def of(cls, inputs: GraphInputs, pairs: LabelledPairs, fraction: float) -> EdgeHoldOut:
        positive = torch.nonzero(pairs.label == 1).flatten()
        n = inputs.x.shape[0]
        src, dst = inputs.edge_index
        keys = torch.cat([_pair_keys(pairs.tf[positive], pairs.target[positive], n), _pair_keys(src, dst, n)])
        unique, ids = torch.unique(keys, return_inverse=True)
        return cls(fraction, positive, torch.nonzero(pairs.label == 0).flatten(), ids[:len(positive)],
                   ids[len(positive):], len(unique))

    def draw(self, inputs: GraphInputs, pairs: LabelledPairs,
             generator: torch.Generator) -> tuple[GraphInputs, LabelledPairs]:
        """One epoch's graph (`inputs` without the withheld edges) and supervised pairs."""
        drawn = torch.rand(len(self.positive), generator=generator).to(self.positive.device) < self.fraction
        withheld = torch.zeros(self.n_ids, dtype=torch.bool, device=self.positive.device)
        withheld[self.positive_ids[drawn]] = True
        kept_edges = inputs.edge_index[:, ~withheld[self.edge_ids]]
        supervised = torch.cat([self.negative, self.positive[drawn]])
        return replace(inputs, edge_index=kept_edges), pairs.subset(supervised)


def epoch_view(inputs: GraphInputs, pairs: LabelledPairs, hold_out: EdgeHoldOut | None,
               generator: torch.Generator) -> tuple[GraphInputs, LabelledPairs]:
    """One training epoch's graph and supervised pairs: the edge hold-out (None for none),
    then the swap."""
    if hold_out is not None:
        inputs, pairs = hold_out.draw(inputs, pairs, generator)
    if inputs.swap is not None:
        inputs = replace(inputs, edge_index=inputs.swap.apply(inputs.edge_index, inputs.x.shape[0], generator))
    return inputs, pairs


def _train_epoch(model: nn.Module, inputs: GraphInputs, pairs: LabelledPairs, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, batch_size: int, generator: torch.Generator,
                 hold_out: EdgeHoldOut | None) -> float:
    """One pass over `pairs` in shuffled batches; `scheduler` steps after every optimizer step."""
    model.train()
    inputs, pairs = epoch_view(inputs, pairs, hold_out, generator)
    graph = model.prepare_graph(inputs.edge_index, inputs.x.shape[0])
    loss_fn = nn.BCEWithLogitsLoss()
    order = torch.randperm(len(pairs.label), generator=generator).to(pairs.label.device)
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(pairs.logits(model, inputs, graph, batch), pairs.label[batch])
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += float(loss.detach()) * len(batch)
    return total / max(len(order), 1)


def fit(model: nn.Module, inputs: GraphInputs, train: LabelledPairs, validation: LabelledPairs,
        options: FitOptions, seed: int) -> FitResult:
    """Train; keep the weights of the epoch with the best validation AUROC and stop after
    `patience` epochs without improvement. Without a validation AUROC (one class only),
    train all epochs and keep the last weights."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = OPTIMIZERS[options.optimizer](model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=options.lr_decay)
    best_auroc, best_epoch, best_state = -np.inf, 0, copy.deepcopy(model.state_dict())
    evaluation_graph = model.prepare_graph(inputs.edge_index, inputs.x.shape[0])
    hold_out = EdgeHoldOut.of(inputs, train, options.edge_holdout) if options.edge_holdout > 0 else None
    epoch = 0
    for epoch in range(1, options.epochs + 1):
        loss = _train_epoch(model, inputs, train, optimizer, scheduler, options.batch_size, generator, hold_out)
        val_auroc = auroc(validation.label.cpu().numpy(), predict(model, inputs, validation.tf, validation.target,
                                                            validation.offset, graph=evaluation_graph))
        if val_auroc > best_auroc or np.isnan(val_auroc):  # no validation AUROC: keep the latest
            best_auroc, best_epoch, best_state = val_auroc, epoch, copy.deepcopy(model.state_dict())
        log.debug("epoch %d loss %.4f validation AUROC %.4f", epoch, loss, val_auroc)
        if not np.isfinite(loss) or epoch - best_epoch >= options.patience:
            break
    model.load_state_dict(best_state)
    return FitResult(model=model, val_auroc=float(best_auroc), best_epoch=best_epoch, epochs=epoch)


def suggest_published_space(trial: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """scRegNet's Optuna search space: (model keyword arguments, fit option overrides)."""
    hidden = trial.suggest_int("hidden", 4, 256, log=True)
    model_kwargs = {
        "gnn_layers": trial.suggest_int("gnn_layers", 1, 6),
        "mlp_layers": trial.suggest_int("mlp_layers", 1, 6),
        "hidden": hidden,
        "mlp_hidden": hidden,
        "dropout": trial.suggest_float("dropout", 0.1, 0.8),
    }
    fit_overrides = {
        "lr": trial.suggest_float("lr", 1e-5, 1e-2, log=True),
        "optimizer": trial.suggest_categorical("optimizer", sorted(OPTIMIZERS)),
    }
    return model_kwargs, fit_overrides


def tune(build: Callable[[dict[str, Any]], nn.Module], inputs: GraphInputs, train: LabelledPairs,
         validation: LabelledPairs, options: FitOptions, n_trials: int, seed: int) -> dict[str, Any]:
    """Optuna search over the published space, each trial scored by its best validation
    AUROC; returns the best trial's parameters (model kwargs and fit overrides merged)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        model_kwargs, fit_overrides = suggest_published_space(trial)
        seed_everything(seed)
        result = fit(build(model_kwargs), inputs, train, validation, replace(options, **fit_overrides), seed)
        return result.val_auroc if np.isfinite(result.val_auroc) else 0.0

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    log.info("Optuna best validation AUROC %.4f with %s", study.best_value, study.best_params)
    return dict(study.best_params)
