"""`TrainConfig`: what a run is asked to do, apart from the model and the data.

Kept free of torch, so the CLI and the app can read and check options, and paint their
first frame, while torch is still loading (it takes a second).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """One run's settings. Runs store them (`to_dict`), so `from_dict` must read other versions'."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"  # adam | adamw | sgd (momentum 0.9)
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"  # auto | cuda | cuda:N | mps | cpu
    amp: bool = False  # bf16 autocast on CUDA; ignored elsewhere, with a note
    compile: bool = False  # torch.compile on CUDA; ignored elsewhere, with a note
    cuda_graphs: bool = False  # the whole step as one CUDA graph (graphs.py); ignored elsewhere, with a note
    drop_last: bool = True  # every batch the same shape: fewer recompiles and cuDNN plans
    report_every: float = 0.25  # seconds between Step events
    weights_every: float = 1.0  # seconds between Weights events (0: only the final one)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """A config from a stored dict; keys from other versions are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def validate(self) -> str | None:
        """Why this config cannot train, as one line for the user, or None."""
        if not isinstance(self.epochs, int) or self.epochs < 1:
            return f"epochs must be at least 1, got {self.epochs}"
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            return f"batch size must be at least 1, got {self.batch_size}"
        if not math.isfinite(self.lr) or self.lr <= 0:
            return f"learning rate (lr) must be a positive number, got {self.lr}"
        if not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            return f"weight decay must be zero or positive, got {self.weight_decay}"
        if self.optimizer not in OPTIMIZERS:
            return f"unknown optimizer {self.optimizer!r} (use {', '.join(OPTIMIZERS)})"
        if self.compile and self.cuda_graphs:
            return "use --compile or --cuda-graphs, not both"
        if not math.isfinite(self.report_every) or self.report_every < 0:
            return f"report_every must be zero or positive seconds, got {self.report_every}"
        if not math.isfinite(self.weights_every) or self.weights_every < 0:
            return f"weights_every must be zero or positive seconds, got {self.weights_every}"
        return None
