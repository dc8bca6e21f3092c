"""A spec's model looked at: its layers' outputs, its prediction, its first layer as pictures."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..architecture.budget import budget_of
from ..architecture.spec import Spec

if TYPE_CHECKING:
    import torch
    from torch import nn


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode (dropout off, batch norm on running stats) for a look, then back as it was."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    import torch

    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def activations(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's output for one input x (the spec's input shape, no batch), as CPU copies."""
    outputs = []
    with _evaluating(model):
        h = x.to(_device(model)).unsqueeze(0)
        for layer in model:
            h = layer(h)
            outputs.append(h[0].cpu())
    return outputs


def predict(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities for one input x (no batch), on the CPU."""
    with _evaluating(model):
        logits = model(x.to(_device(model)).unsqueeze(0))
    return logits.reshape(1, -1).softmax(1)[0].cpu()


def model_from(spec: Spec, state_dict: Mapping[str, torch.Tensor] | None = None, seed: int = 0) -> nn.Sequential:
    """The spec's model in eval mode on the CPU: with these weights, else freshly initialised under `seed`.

    Eval mode for good: views look at it from worker threads, and `activations`
    restores the mode it found, so two looks at once never leave it training.
    """
    import torch

    from ..architecture.build import build_model
    from ..architecture.init import initial_model

    if state_dict is None:
        model = initial_model(spec, seed)
    else:
        with torch.device("meta"):  # nothing drawn: the weights are about to be replaced
            model = build_model(spec)
        model.to_empty(device="cpu").load_state_dict(dict(state_dict))
    return model.eval()


def first_layer_maps(
    model: nn.Sequential, spec: Spec, input_shape: tuple[int, ...] | None = None
) -> tuple[torch.Tensor, int] | str:
    """The first weight layer as pictures [n, h, w] and its parameter count, or why it has none.

    An MLP's first linear on a flattened image gives one whole-image template per unit
    (50 of 28x28 for `mlp`); a CNN's first conv gives its small kernels ([O, k, k], 4
    of 3x3 for `simple_cnn`). Both are averaged over input channels: for one-channel
    MNIST that is the weights themselves; for colour, the response to grey.
    """
    from torch import nn

    budget = budget_of(spec, input_shape)
    index = next((i for i, layer in enumerate(spec.layers) if layer.kind in ("conv", "linear")), None)
    if index is None:
        return "the architecture has no conv or linear layer"
    bad = budget.error
    if bad is not None and bad.index <= index:
        return f"layer {bad.index} ({bad.spec}): {bad.error}"
    row = budget.rows[index]
    module = model[index]
    if not isinstance(module, (nn.Conv2d, nn.Linear)):
        raise ValueError(f"model layer {index} is {type(module).__name__}: was it built from this spec?")
    weight = module.weight.detach().float().cpu()
    params = sum(p.numel() for p in module.parameters())
    if isinstance(module, nn.Conv2d):
        return weight.mean(1), params
    flatten = next((i for i in range(index - 1, -1, -1) if spec.layers[i].kind == "flatten"), None)
    image = budget.rows[flatten].in_shape if flatten is not None else None
    if image is None or len(image) != 3:
        return f"layer {index} ({row.spec}) sees flat features, not an image: nothing to draw"
    if weight.shape[1] != math.prod(image):
        raise ValueError(f"model layer {index} takes {weight.shape[1]} features, the spec gives it {math.prod(image)}")
    return weight.reshape(weight.shape[0], *image).mean(1), params
