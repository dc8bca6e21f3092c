"""The transplant: a CNN is an MLP with tied, mostly-zero weights, and here is that MLP.

Each conv (or local layer) becomes the `Linear` whose matrix is the layer unrolled (the
conv-as-matrix lesson's matrix, its bias repeated per position), on features flattened in
PyTorch's (C, H, W) order; activations, dropout and linears carry over. The MLP computes the
CNN's outputs (up to the order of float sums), so `line`, trained from scratch, shows whether
an MLP of that size finds the CNN's solution by itself. Pooling and batch norm have no such
matrix here and are refused with a reason.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ..architecture.budget import budget_of
from ..architecture.build import build_model
from ..architecture.local import LocallyConnected2d
from ..architecture.spec import ACTIVATIONS, CONVS, POOLS, Layer, Spec

if TYPE_CHECKING:
    from .mistakes import ValSet

CARRIED = (*ACTIVATIONS, "dropout", "linear")  # the same layer in the MLP: elementwise, or already flat


class TransplantError(ValueError):
    """The network has a layer with no matrix to unroll, or its MLP would not fit."""


def mlp_spec(spec: Spec) -> Spec:
    """The MLP that computes `spec`: `flatten`, then a `linear` for each conv or local layer."""
    budget = budget_of(spec)
    if budget.error:
        raise TransplantError(f"layer {budget.error.index} ({budget.error.spec}): {budget.error.error}")
    layers = [Layer("flatten")]
    for layer, row in zip(spec.layers, budget.rows, strict=True):
        if layer.kind in CONVS:
            assert row.out_shape is not None
            layers.append(Layer("linear", out=math.prod(row.out_shape), bias=layer.bias))
        elif layer.kind in CARRIED:
            layers.append(layer)
        elif layer.kind != "flatten":  # the features are flat from the start
            why = "pooling is not a matrix of weights" if layer.kind in POOLS else "batch norm is not transplanted"
            raise TransplantError(
                f"layer {row.index} ({row.spec}): {why}; a transplant takes convs, local layers, activations,"
                " dropout, flatten and linear layers"
            )
    mlp = Spec(layers=tuple(layers), name=f"{spec.name}_mlp", input_shape=spec.input_shape)
    problem = budget_of(mlp).error
    if problem:
        raise TransplantError(f"the MLP would be too large: {problem.error}")
    return mlp


def unrolled(module: nn.Module, in_shape: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The (weight [out, in], bias [out]) of the Linear that computes this conv or local layer on `in_shape`.

    Built by placing each kernel weight in its cell, not by multiplying: the matrix holds
    the layer's weights exactly. Rows are outputs and columns inputs, both in (C, H, W) order.
    """
    if not isinstance(module, (nn.Conv2d, LocallyConnected2d)):
        raise TypeError(f"expected a Conv2d or LocallyConnected2d, got {type(module).__name__}")
    c, h, w = in_shape
    k, s, p = (module.kernel_size, module.stride, module.padding)
    k, s, p = (v[0] if isinstance(v, tuple) else v for v in (k, s, p))
    # Which input pixel (1-based, 0 in the padding) each patch entry (c*k*k, position) reads.
    pixels = torch.arange(1, c * h * w + 1, dtype=torch.float64).reshape(1, c, h, w)
    reads = F.unfold(pixels, k, padding=p, stride=s)[0].round().long()
    taps, positions = reads.shape
    weight = module.weight.detach()
    out = weight.shape[1] if isinstance(module, LocallyConnected2d) else weight.shape[0]
    if isinstance(module, LocallyConnected2d):
        values = weight.permute(1, 2, 0)  # out, c*k*k, positions
    else:
        values = weight.reshape(out, taps, 1).expand(out, taps, positions)
    matrix = weight.new_zeros(out * positions, c * h * w + 1)  # column 0 catches the padding's taps
    row = torch.arange(out).reshape(out, 1, 1) * positions + torch.arange(positions).reshape(1, 1, positions)
    matrix[row.expand(out, taps, positions), reads.expand(out, taps, positions)] = values
    bias = module.bias.detach() if module.bias is not None else None
    if bias is not None:  # a local layer's is per position already; a conv's repeats over them
        bias = bias.flatten() if isinstance(module, LocallyConnected2d) else bias.repeat_interleave(positions)
    return matrix[:, 1:].contiguous(), bias


def transplant(spec: Spec, model: nn.Sequential) -> tuple[Spec, nn.Sequential]:
    """The MLP of `spec` with `model`'s weights unrolled into it (on the model's device, in eval mode)."""
    mlp = mlp_spec(spec)
    budget = budget_of(spec)
    with torch.device("meta"):  # nothing drawn from any generator: every weight is set below
        built = build_model(mlp)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    built.to_empty(device=device)
    linears = iter(m for m in built if isinstance(m, nn.Linear))
    with torch.no_grad():
        for layer, row, module in zip(spec.layers, budget.rows, model, strict=True):
            if layer.kind in CONVS:
                assert row.in_shape is not None and len(row.in_shape) == 3
                weight, bias = unrolled(module, (row.in_shape[0], row.in_shape[1], row.in_shape[2]))
            elif layer.kind == "linear":
                weight, bias = module.weight, module.bias
            else:
                continue
            target = next(linears)
            target.weight.copy_(weight)
            if bias is not None:
                target.bias.copy_(bias)
    return mlp, built.eval()


@dataclass(frozen=True)
class Report:
    """A run and its transplanted MLP: sizes, the largest output difference and both accuracies."""

    run_id: str
    params_cnn: int
    params_mlp: int
    max_abs_diff: float  # over every validation sample's outputs
    val_acc_cnn: float
    val_acc_mlp: float
    line: str  # the MLP in the architecture language

    def to_json(self) -> dict:
        return asdict(self)


def compare_on(
    cnn: nn.Sequential, mlp: nn.Sequential, dataset: ValSet, batch_size: int = 1024
) -> tuple[float, float, float]:
    """(largest output difference, CNN accuracy, MLP accuracy) over the validation split."""
    diff, right_cnn, right_mlp = 0.0, 0, 0
    cnn_mode, mlp_mode = cnn.training, mlp.training
    cnn.eval()
    mlp.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(dataset.x_val), batch_size):
                x, y = dataset.x_val[i : i + batch_size], dataset.y_val[i : i + batch_size]
                a, b = cnn(x).flatten(1), mlp(x)
                diff = max(diff, (a - b).abs().max().item())
                right_cnn += int((a.argmax(1) == y).sum())
                right_mlp += int((b.argmax(1) == y).sum())
    finally:
        cnn.train(cnn_mode)
        mlp.train(mlp_mode)
    n = max(len(dataset.x_val), 1)
    return diff, right_cnn / n, right_mlp / n


def report(run_id: str, spec: Spec, model: nn.Sequential, dataset: ValSet) -> Report:
    """Transplant a run's trained model and check the MLP against it on the validation split."""
    mlp_line, mlp = transplant(spec, model)
    diff, acc_cnn, acc_mlp = compare_on(model, mlp, dataset)
    return Report(
        run_id,
        sum(p.numel() for p in model.parameters()),
        sum(p.numel() for p in mlp.parameters()),
        diff,
        acc_cnn,
        acc_mlp,
        mlp_line.line(),
    )
