"""What a `Trainer` reports: small immutable values, safe to hand across threads.

The trainer calls one callback with these. The CLI draws a progress bar from them,
the runs store records them, and the app turns them into Textual messages. Tensors in
events are CPU copies the trainer never touches again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

Status = Literal["running", "finished", "diverged", "interrupted", "failed"]


@dataclass(frozen=True)
class Started:
    arch: str  # preset or file name, else the line
    line: str  # the architecture in the language
    params: int
    dataset: str
    device: str  # e.g. "cuda", "cpu"
    device_name: str  # e.g. "NVIDIA H100 80GB HBM3", "CPU (2 threads)"
    epochs: int
    steps_per_epoch: int
    train_size: int
    val_size: int
    config: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """Throttled progress inside an epoch (a few a second)."""

    step: int  # global step, 1-based
    epoch: int  # 1-based
    epoch_step: int  # 1-based within the epoch
    loss: float  # mean train loss since the last Step
    acc: float  # train accuracy since the last Step, 0..1
    samples_per_s: float
    elapsed: float  # seconds since the start
    eta: float  # seconds left, estimated


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 1-based
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  # this epoch's wall time
    samples_per_s: float  # this epoch's training throughput


@dataclass(frozen=True)
class Weights:
    """A throttled CPU snapshot of the weight tensors, by layer index in the spec.

    `state_dict` is the whole model's (biases and batch-norm statistics too), so a
    view can rebuild the model as it is now; `tensors` share its storage.
    """

    step: int
    epoch: int
    tensors: dict[int, torch.Tensor] = field(repr=False)
    state_dict: dict[str, torch.Tensor] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Checkpoint:
    """Everything needed to continue a run after `epoch`, as CPU copies; emitted at each epoch end.

    `generator` is the batch-order generator's state and `dropout` the dropout generator's,
    so a continued run draws the same permutations and masks the uninterrupted one would
    have (None in checkpoints written before dropout was saved: its stream then restarts).
    """

    epoch: int
    step: int
    best_val_acc: float | None
    model: dict[str, torch.Tensor] = field(repr=False)
    optimizer: dict[str, Any] = field(repr=False)
    generator: torch.Tensor = field(repr=False)
    dropout: torch.Tensor | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Ended:
    """Exactly one per run: how it ended and why."""

    status: Status  # finished | diverged | interrupted | failed
    message: str
    epochs_done: int
    best_val_acc: float | None
    final_val_acc: float | None
    train_loss: float | None
    seconds: float
    samples_per_s: float
    state_dict: dict[str, torch.Tensor] | None = field(default=None, repr=False)


Event = Started | Step | EpochEnd | Weights | Checkpoint | Ended
Callback = Callable[[Event], None]
