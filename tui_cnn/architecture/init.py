"""PyTorch's default initialisation drawn from a generator of the caller's, never torch's global one.

`nn.Conv2d` and `nn.Linear` initialise themselves from the global generator as they are built.
The training thread and the lesson views build models at the same time, so a view that seeds or
draws from that generator changes a seeded run. Here the layers are built on the `meta` device
(which draws nothing) and their weights are then drawn, in module order, exactly as their own
`reset_parameters` would: `initial_model(spec, seed)` equals `torch.manual_seed(seed);
build_model(spec)` to the bit, and leaves the global generator as it was.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .build import build_model
from .local import LocallyConnected2d
from .spec import Spec


def initialise(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw every conv, local and linear layer's weights as their default init does, from `generator`."""
    for module in model.modules():
        if isinstance(module, LocallyConnected2d):
            module.reset_parameters(generator)
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            # Their reset_parameters: kaiming_uniform_(a=sqrt(5)), which is uniform(+-1/sqrt(fan_in)), then the bias.
            weight = module.weight
            fan_in = weight.shape[1] * math.prod(weight.shape[2:])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            with torch.no_grad():
                weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()  # ones, zeros and fresh running statistics: nothing random
    return model


def initial_model(spec: Spec, seed: int, device: torch.device | str = "cpu") -> nn.Sequential:
    """The spec as a run with this seed starts it, on `device`; the global generator is not touched."""
    with torch.device("meta"):
        model = build_model(spec)
    model.to_empty(device=device)
    generator = torch.Generator(device=device).manual_seed(seed)
    initialise(model, generator)
    return model
