"""Adam, AdamW and SGD as torch's fused kernels, called without `torch.optim`'s machinery.

`torch.optim` runs the same kernels with `fused=True`, but every `Optimizer` imports
`torch._dynamo` when it is built and stepped (0.8 s of a 2.5 s `cnn-tui train` here,
and a hundred-odd MB of resident memory), and wraps each step in bookkeeping that
costs more than the update itself for a 5,000-parameter model. These hold their state
in flat lists and call the kernel once a step; the parameters they produce are
bit-identical to `torch.optim`'s fused ones (the tests compare them). Devices without
fused kernels (Apple MPS) keep `torch.optim`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch

FUSED_DEVICES = ("cpu", "cuda")
BETAS = (0.9, 0.999)  # torch.optim's Adam defaults
EPS = 1e-8
MOMENTUM = 0.9


class Optimizer(Protocol):
    def zero_grad(self) -> None: ...

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class _Fused:
    """Parameters with their per-parameter state; `step` updates those that have a gradient."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.weight_decay = weight_decay

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _with_grads(self) -> list[int]:
        return [i for i, p in enumerate(self.params) if p.grad is not None]


class FusedAdam(_Fused):
    """Adam (or AdamW with `decoupled=True`), as `torch.optim.Adam(..., fused=True)`."""

    def __init__(
        self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0, decoupled: bool = False
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        # Fused kernels read the step count from a float32 tensor beside each parameter.
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def state_dict(self) -> dict[str, Any]:
        """The moments and step counts, as lists in parameter order (what a checkpoint keeps)."""
        return {"exp_avgs": self.exp_avgs, "exp_avg_sqs": self.exp_avg_sqs, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy a `state_dict` in place, keeping each buffer's device and memory layout."""
        for name in ("exp_avgs", "exp_avg_sqs", "steps"):
            for mine, saved in zip(getattr(self, name), state[name], strict=True):
                mine.copy_(saved)

    def step(self) -> None:
        live = self._with_grads()
        if not live:
            return
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        self.kernel(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.exp_avgs[i] for i in live],
            [self.exp_avg_sqs[i] for i in live],
            [],
            steps,
            amsgrad=False,
            lr=self.lr,
            beta1=BETAS[0],
            beta2=BETAS[1],
            weight_decay=self.weight_decay,
            eps=EPS,
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )


class FusedSGD(_Fused):
    """SGD with momentum 0.9, as `torch.optim.SGD(..., momentum=0.9, fused=True)`."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def state_dict(self) -> dict[str, Any]:
        """The momentum buffers in parameter order (None before a parameter's first step)."""
        return {"buffers": self.buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffers = [
            None if saved is None else torch.empty_like(p).copy_(saved)
            for p, saved in zip(self.params, state["buffers"], strict=True)
        ]

    def step(self) -> None:
        live = self._with_grads()
        if not live:
            return
        first = all(self.buffers[i] is None for i in live)
        if first:  # the kernel fills new buffers with the first gradient
            for i in live:
                self.buffers[i] = torch.empty_like(self.params[i].grad)
        torch._fused_sgd_(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.buffers[i] for i in live],
            weight_decay=self.weight_decay,
            momentum=MOMENTUM,
            lr=self.lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=first,
            grad_scale=None,
            found_inf=None,
        )


def make(
    name: str, params: Iterable[torch.Tensor], device: torch.device, lr: float, weight_decay: float = 0.0
) -> Optimizer:
    """`adam`, `adamw` or `sgd` (momentum 0.9) for parameters on `device`."""
    if device.type not in FUSED_DEVICES:
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM, weight_decay=weight_decay)
    if name in ("adam", "adamw"):
        return FusedAdam(params, lr, weight_decay, decoupled=name == "adamw")
    return FusedSGD(params, lr, weight_decay)
