"""Where a trained model goes wrong on the validation split: the confusion matrix and its surest mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .models import _device, _evaluating

if TYPE_CHECKING:
    import torch
    from torch import nn


class ValSet(Protocol):
    """What the mistake views need of a `tui_cnn.training.data.Dataset`."""

    x_val: torch.Tensor  # float [N, C, H, W], normalised
    y_val: torch.Tensor  # int64 [N]
    num_classes: int


@dataclass(frozen=True)
class Mistake:
    """A validation sample the model gets wrong, and how sure it was."""

    index: int  # into the validation split
    true: int
    pred: int
    confidence: float  # the predicted class's probability


def _val_predictions(
    model: nn.Sequential, dataset: ValSet, device: torch.device | str | None, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted class and its probability for every validation sample, left on the device."""
    import torch

    device = device or _device(model)
    preds, confs = [], []
    with _evaluating(model):
        for i in range(0, len(dataset.x_val), batch_size):
            logits = model(dataset.x_val[i : i + batch_size].to(device, non_blocking=True))
            if logits.shape[1:] != (dataset.num_classes,):
                raise ValueError(f"model outputs {list(logits.shape[1:])}, dataset has {dataset.num_classes} classes")
            conf, pred = logits.softmax(1).max(1)
            preds.append(pred)
            confs.append(conf)
    return torch.cat(preds), torch.cat(confs)


def confusion(
    model: nn.Sequential, dataset: ValSet, device: torch.device | str | None = None, batch_size: int = 1024
) -> torch.Tensor:
    """Counts [C, C] on the validation split: rows the true class, columns the predicted one.

    The model must already be on `device` (default: where its parameters are).
    """
    import torch

    pred, _ = _val_predictions(model, dataset, device, batch_size)
    c = dataset.num_classes
    pairs = dataset.y_val.to(pred.device) * c + pred
    return torch.bincount(pairs, minlength=c * c).reshape(c, c).cpu()


def worst(
    model: nn.Sequential,
    dataset: ValSet,
    n: int = 16,
    device: torch.device | str | None = None,
    batch_size: int = 1024,
) -> list[Mistake]:
    """The n most confident wrong predictions on the validation split, surest first (ties by index)."""
    pred, conf = _val_predictions(model, dataset, device, batch_size)
    true = dataset.y_val.to(pred.device)
    wrong = (pred != true).nonzero().flatten()
    order = conf[wrong].sort(descending=True, stable=True).indices[:n]
    picked = wrong[order]
    return [
        Mistake(i, t, p, c)
        for i, t, p, c in zip(
            picked.tolist(), true[picked].tolist(), pred[picked].tolist(), conf[picked].tolist(), strict=True
        )
    ]


def confusion_heat(counts: torch.Tensor) -> list[list[float]]:
    """A confusion matrix's colours, -1..1: each diagonal cell minus its class's recall (blue), each
    other cell its count over the largest mistake count (red), so the mistakes stand out however few."""
    rows_ = counts.tolist()
    worst_count = max((v for i, row in enumerate(rows_) for j, v in enumerate(row) if i != j), default=0) or 1
    return [
        [-(v / (sum(row) or 1)) if i == j else v / worst_count for j, v in enumerate(row)]
        for i, row in enumerate(rows_)
    ]
