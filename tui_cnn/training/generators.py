"""A run's random numbers come from its own generators, never from torch's global one.

The lesson views build models in worker threads while a run trains, and anything that seeds
or draws from the global generator would change a seeded run. So a run with seed S uses three
generators, each of its own:

- init: a CPU generator seeded with S draws PyTorch's default init in module order
  (`init.initial_model(spec, S)`, bit-equal to `torch.manual_seed(S); build_model(spec)`);
  the model then moves to its device.
- dropout: a generator on the model's device seeded with `dropout_seed(S)`, shared by every
  dropout layer (`seed_dropout`), drawing one mask a layer a training forward pass.
- batch order: a CPU generator seeded with S draws one `randperm` an epoch.

Anything that must reproduce a run (a stacked trainer, a resumed run) makes the same three.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)

DROPOUT_SEED_OFFSET = 0x9E3779B97F4A7C15  # any fixed odd constant: keeps the dropout stream apart from init's


def dropout_seed(seed: int) -> int:
    """The seed of a run's dropout generator, given the run's seed."""
    return (seed + DROPOUT_SEED_OFFSET) % 2**64


class SeededDropout(nn.Dropout):
    """`nn.Dropout` whose masks come from `generator` (on the input's device), with the same scaling.

    As ATen's dropout on the CPU: a Bernoulli(1 - p) mask divided by 1 - p, times the input
    (p < 1, as specs allow).
    """

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.numel() == 0:
            return x
        noise = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * noise.div_(1 - self.p)


def seed_dropout(model: M, generator: torch.Generator) -> M:
    """Swap every `nn.Dropout` in `model` for a `SeededDropout` drawing from `generator`, in place."""
    found = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()]
    for parent, name, child in found:
        if type(child) is nn.Dropout:
            setattr(parent, name, SeededDropout(child.p, generator))
    return model


def run_generators(seed: int, device: torch.device) -> tuple[torch.Generator, torch.Generator, torch.Generator]:
    """A run's init (CPU), dropout (on `device`) and batch-order (CPU) generators, given its seed."""
    init = torch.Generator().manual_seed(seed)
    dropout = torch.Generator(device=device).manual_seed(dropout_seed(seed))
    return init, dropout, torch.Generator().manual_seed(seed)
