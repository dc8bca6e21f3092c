"""Checkpoints: a run's state after its last completed epoch, so it can be continued.

The trainer emits a `Checkpoint` at each epoch end (weights, optimizer state, the
batch-order and dropout generators' states); the runs store writes it beside the weights, atomically,
so a run killed with kill -9 keeps its last one. A checkpoint is a `torch.save` of plain
tensors, lists and numbers, read back with `weights_only=True` like the weights.

Continuing a run may change what does not change what was learnt so far (the learning
rate, the epochs, the device); the rest would make a different run, and is refused.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from typing import Any

from .config import TrainConfig
from .events import Checkpoint

FORMAT = 1
CHANGEABLE = ("epochs", "lr", "weight_decay", "device", "amp", "compile", "cuda_graphs")
_FIELDS = ("epoch", "step", "best_val_acc", "model", "optimizer", "generator")
_OPTIONAL = ("dropout",)  # absent from checkpoints written before it was saved


def encode(checkpoint: Checkpoint) -> bytes:
    """The checkpoint as the bytes of one file."""
    import torch

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **{name: getattr(checkpoint, name) for name in (*_FIELDS, *_OPTIONAL)}}, buffer)
    return buffer.getvalue()


def decode(data: bytes) -> Checkpoint:
    """A checkpoint from `encode`'s bytes; ValueError saying why when they are not one."""
    import torch

    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles; the error below says it all
            warnings.simplefilter("ignore")
            saved = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zips, foreign pickles and I/O errors all mean unusable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"corrupt or not a cnn-tui checkpoint: {reason[:200]}") from exc
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or any(name not in saved for name in _FIELDS):
        raise ValueError("not a cnn-tui checkpoint (or one from another version)")
    if not isinstance(saved["model"], dict) or not isinstance(saved["generator"], torch.Tensor):
        raise ValueError("not a cnn-tui checkpoint (its weights or generator state are missing)")
    if not isinstance(saved.get("dropout"), torch.Tensor | None):
        raise ValueError("not a cnn-tui checkpoint (its dropout generator state is not one)")
    return Checkpoint(**{name: saved[name] for name in _FIELDS}, dropout=saved.get("dropout"))


def resume_config(stored: dict[str, Any], given: dict[str, Any], epochs_done: int) -> TrainConfig:
    """The config to continue a run with: the stored one with the `given` changes that are allowed.

    `given` holds only what the user asked for explicitly. `epochs` is the run's new total.
    ValueError, one line for the user, when a change is not allowed or nothing is left to train.
    """
    base = TrainConfig.from_dict(stored)
    for name, value in given.items():
        if name not in CHANGEABLE and getattr(base, name) != value:
            raise ValueError(
                f"--{name.replace('_', '-')} cannot change when resuming (the run used {getattr(base, name)!r});"
                " start a new run instead"
            )
    config = dataclasses.replace(base, **{name: value for name, value in given.items() if name in CHANGEABLE})
    problem = config.validate()
    if problem:
        raise ValueError(problem)
    if config.epochs <= epochs_done:
        raise ValueError(
            f"the run has done {epochs_done} of its {base.epochs} epochs: give --epochs above {epochs_done}"
            " (the new total) to continue it"
        )
    return config


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """What a resume changed, as name -> [before, after], for the run's record."""
    return {name: [before.get(name), after.get(name)] for name in CHANGEABLE if before.get(name) != after.get(name)}
